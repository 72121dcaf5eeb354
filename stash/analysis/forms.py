"""The video analysis settings form, used by its Settings page and the admin.

Fields the environment decides (VIDEO_TAGGER_URL and friends) are shown read-only with the environment's
value and keep their stored value. Saving does not ask the tagger: it may be down now, and analysis jobs
retry a scene whose tagger did not answer. The Test button asks it.
"""

from django import forms

from orchestrator.env_fields import show_env_fields
from stash.analysis import config
from stash.analysis.models import VideoAnalysisSettings
from stash.connection.forms import MAPPING_ARROW, PathMappingsField


class VideoAnalysisSettingsForm(forms.ModelForm):
    tagger_path_mappings = PathMappingsField(
        other="tagger",
        label="Tagger path mappings",
        required=False,
        help_text=f"One per line: LOCAL {MAPPING_ARROW} TAGGER, where LOCAL is a library directory on this "
        "machine and TAGGER the same directory as the tagger sees it. Empty: the tagger gets Stash's paths.",
    )

    class Meta:
        model = VideoAnalysisSettings
        fields = [
            "tagger_url",
            "tagger_timeout_seconds",
            "tagger_path_mappings",
            "frame_interval",
            "max_markers",
            "marker_interval_seconds",
        ]
        labels = {
            "tagger_url": "AI video tagger URL",
            "tagger_timeout_seconds": "Tagger timeout (s)",
            "frame_interval": "Frame interval (s)",
            "max_markers": "Most markers per scene",
            "marker_interval_seconds": "Marker interval (s)",
        }
        help_texts = {
            "tagger_url": "Where the AI video tagger answers (it is sent POST …/process_video/), e.g. "
            "http://localhost:8084. Empty: the built-in ffprobe/ffmpeg analyzer.",
            "tagger_timeout_seconds": "How long the tagger may take for one video.",
            "frame_interval": "Seconds between the frames the tagger looks at (an analysis job may give its own).",
            "max_markers": "Built-in analyzer: the most markers proposed per scene. 0: no markers.",
            "marker_interval_seconds": "Built-in analyzer: chapter markers this far apart in videos without cuts.",
        }
        widgets = {
            "tagger_url": forms.TextInput(attrs={"placeholder": "http://localhost:8084", "spellcheck": "false"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tagger_path_mappings"].widget.attrs["placeholder"] = "/srv/library -> /media"
        self.fields["tagger_timeout_seconds"].widget.attrs.update(min="1", step="any")
        self.fields["frame_interval"].widget.attrs.update(min="0.1", step="any")
        self.fields["max_markers"].widget.attrs.update(min="0")
        self.fields["marker_interval_seconds"].widget.attrs.update(min="1", step="any")
        self.env_fields = config.env_overrides()
        show_env_fields(self, self.env_fields, lambda name: _show(name, config.env_value(name)))


def _show(name: str, value) -> str:
    if name == "tagger_path_mappings":
        return "; ".join(f"{m['local']} {MAPPING_ARROW} {m['tagger']}" for m in value) or "(none)"
    return f"{value:g}" if isinstance(value, float) else str(value)
