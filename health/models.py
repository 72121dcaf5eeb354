"""The health app's tables: each check's stored result, and the notification URLs and outbox
(health/notifications/models.py, imported here so that Django finds them)."""

from django.db import models

from health.notifications.models import Notification, NotificationTarget

__all__ = ["CheckState", "HealthCheck", "Notification", "NotificationTarget"]


class CheckState(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    UNKNOWN = "unknown", "Not checked yet"


class HealthCheck(models.Model):
    """The last result of one check (health/checks/), kept so pages read it instead of asking the dependency.

    `since` is when the state last changed; `first_failed_at` when the current failure began (kept across
    warning ↔ error, cleared when ok again); `last_ok_at` the last run that found nothing wrong."""

    name = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=10, choices=CheckState.choices, default=CheckState.UNKNOWN)
    reason = models.TextField(blank=True)
    fix = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # "Check now": the health loop runs a requested check at once (health/loop.py).
    requested_at = models.DateTimeField(null=True, blank=True)
    # A "failed" notification went out for the current failure; the next ok run says "restored".
    alerted = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}: {self.state}"

    @property
    def failing(self) -> bool:
        return self.state in (CheckState.WARNING, CheckState.ERROR)
