"""How videos are analysed: the settings row edited on the Video analysis settings page and in the admin
(one row, pk 1)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from orchestrator.singleton import SettingsRow
from stash.analysis import validation as analysis_validation


class VideoAnalysisSettings(SettingsRow):
    """How the `analysis` job looks at videos: one row (pk 1), edited on the Video analysis settings page.

    An empty `tagger_url` means the built-in ffprobe/ffmpeg analyzer. Each VIDEO_TAGGER_* /
    VIDEO_ANALYSIS_* variable set in the environment takes precedence over its field (see
    stash.analysis.config.effective_settings). The defaults are those the variables had before this row."""

    tagger_url = models.CharField(
        max_length=500, blank=True, default="", help_text="e.g. http://localhost:8084; empty: the built-in analyzer"
    )
    tagger_timeout_seconds = models.FloatField(default=3700.0, help_text="Seconds the tagger may take for one video")
    tagger_path_mappings = models.JSONField(
        default=list, blank=True, help_text='Local library directories to the tagger\'s: [{"local": …, "tagger": …}]'
    )
    frame_interval = models.FloatField(default=2.0, help_text="Seconds between the frames the tagger looks at")
    max_markers = models.PositiveIntegerField(default=10, help_text="Built-in analyzer: most markers per scene")
    marker_interval_seconds = models.FloatField(
        default=300.0, help_text="Built-in analyzer: seconds between chapter markers in videos without cuts"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Video analysis settings"
        verbose_name_plural = "Video analysis settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="video_analysis_settings_singleton")]

    def __str__(self):
        return "Video analysis settings"

    def clean(self):
        check = analysis_validation
        errors = self.check_fields(
            (
                ("tagger_url", check.clean_tagger_url),
                ("tagger_timeout_seconds", check.clean_tagger_timeout),
                ("tagger_path_mappings", check.clean_tagger_path_mappings),
                ("frame_interval", check.clean_frame_interval),
                ("max_markers", check.clean_max_markers),
                ("marker_interval_seconds", check.clean_marker_interval),
            )
        )
        if errors:
            raise ValidationError(errors)
