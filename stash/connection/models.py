"""How to reach Stash: the settings row edited on the Stash settings page and in the admin (one row, pk 1)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from orchestrator.singleton import SettingsRow
from stash.connection import validation


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
    stash.connection.config.effective_connection). `api_key` is stored in clear because we must send it, but no page,
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
