"""Notification URLs (Apprise) with the events each wants, and the outbox of messages to deliver.

The outbox is what keeps delivery off the callers' path: an event writes one `Notification` row per
subscribed URL (health/notifications/outbox.py), and the sender (health/notifications/sender.py) claims
and delivers them, retrying a few times and holding back repeats of one kind and subject.
"""

from django.db import models
from django.db.models import Q


class NotificationTarget(models.Model):
    """One Apprise URL. The URL holds secrets (tokens, passwords): stored in clear because we must send
    it, but no page, admin form, API answer or log renders it; they show `masked_url`."""

    name = models.CharField(max_length=100, blank=True, default="")
    url = models.TextField()
    events = models.JSONField(default=list, blank=True)  # kinds of orchestrator.notify.EVENTS
    enabled = models.BooleanField(default=True)
    # What Apprise calls the service ("Discord", "JSON"), and the masked form pages show.
    service = models.CharField(max_length=100, blank=True, default="")
    masked_url = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name or self.masked_url or f"Notification URL {self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # every attempt failed
    SUPPRESSED = "suppressed", "Held back"  # a message of the same kind and subject went out recently


class Notification(models.Model):
    """One message for one URL."""

    target = models.ForeignKey(NotificationTarget, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=50)
    subject = models.CharField(max_length=200, blank=True, default="")
    title = models.CharField(max_length=250)
    body = models.TextField(blank=True, default="")
    link = models.CharField(max_length=500, blank=True, default="")
    level = models.CharField(max_length=10, default="info")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # How many held-back messages of this kind and subject this one reported ("and 3 more like it").
    reported_suppressed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sender's claim: pending messages that are due, oldest first.
            models.Index(
                fields=["next_attempt_at"], name="notification_due", condition=Q(status=DeliveryStatus.PENDING)
            ),
            # The rate limit: the last message sent for a URL, kind and subject; held-back ones since.
            models.Index(fields=["target", "kind", "subject", "status"], name="notification_key"),
        ]

    def __str__(self):
        return f"{self.kind} {self.subject}: {self.status}"
