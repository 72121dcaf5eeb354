"""The settings rows edited on the Settings pages and in the admin: how to reach Stash, and how videos are
analysed. One row each (pk 1)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from stash import validation
from stash.analysis import validation as analysis_validation
from stash.models.singleton import SettingsRow


class PreviewPreset(models.TextChoices):
    """Stash's PreviewPreset enum: the x264 speed of generated previews (faster encodes, larger files)."""

    ULTRAFAST = "ultrafast", "ultrafast"
    VERYFAST = "veryfast", "veryfast"
    FAST = "fast", "fast"
    MEDIUM = "medium", "medium"
    SLOW = "slow", "slow"
    SLOWER = "slower", "slower"
    VERYSLOW = "veryslow", "veryslow"


class StashSettings(SettingsRow):
    """How to reach Stash and how its paths relate to ours: one row (pk 1), edited on the Settings page.

    STASH_URL / STASH_API_KEY in the environment take precedence over `url` / `api_key` (see
    stash.config.effective_connection). `api_key` is stored in clear because we must send it, but no page,
    admin form or API answer renders it back; they show a mask."""

    url = models.CharField(max_length=500, blank=True, default="", help_text="e.g. http://localhost:9999")
    api_key = models.CharField(max_length=1000, blank=True, default="")
    path_mappings = models.JSONField(
        default=list, blank=True, help_text='Local library directories to Stash\'s: [{"local": …, "stash": …}]'
    )
    scan_paths = models.JSONField(
        default=list, blank=True, help_text="Local directories a scan covers by default; empty: the whole library"
    )
    connect_timeout = models.FloatField(default=5.0, help_text="Seconds to wait for a connection to Stash")
    read_timeout = models.FloatField(default=30.0, help_text="Seconds to wait for Stash's answer")
    preview_preset = models.CharField(max_length=16, choices=PreviewPreset.choices, default=PreviewPreset.ULTRAFAST)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Stash settings"
        verbose_name_plural = "Stash settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="stash_settings_singleton")]

    def __str__(self):
        return "Stash settings"

    def clean(self):
        errors = self.check_fields(
            (
                ("url", validation.clean_url),
                ("path_mappings", validation.clean_path_mappings),
                ("scan_paths", validation.clean_scan_paths),
                ("connect_timeout", lambda v: validation.clean_timeout(v, "The connect timeout")),
                ("read_timeout", lambda v: validation.clean_timeout(v, "The read timeout")),
            )
        )
        if errors:
            raise ValidationError(errors)


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
