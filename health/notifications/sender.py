"""Delivering the outbox through Apprise: claim, rate-limit, send, retry.

- Claim: a pending, due message is taken with a compare-and-set (pending → sending), so two senders
  never send one message twice; its `next_attempt_at` becomes a lease, and a message left "sending" by
  a sender that died is pending again once the lease ran out.
- Rate limit: at most one message per URL, event kind and subject per NOTIFY_RATE_LIMIT_MINUTES. One
  that comes sooner is held back (status suppressed); the next one sent says how many were held back
  since the last.
- Retry: a failed send is tried again after each of NOTIFY_RETRY_SECONDS, then marked failed; every
  failure is logged and stored on its URL, where the Notifications health check reads it.
"""

import logging
import re
import threading
import time
from datetime import timedelta

import apprise
from django.conf import settings
from django.db import close_old_connections
from django.db.models import F
from django.utils import timezone

from health.notifications.models import DeliveryStatus, Notification, NotificationTarget
from orchestrator import wakeups

logger = logging.getLogger(__name__)

BATCH = 20
RETENTION_DAYS = 30
PURGE_EVERY_SECONDS = 3600
LEASE_SECONDS = 120
LEVELS = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}
_LOG_PREFIX = re.compile(r"^\S+ \S+ - [A-Z]+ - ")


def send(url: str, title: str, body: str, level: str = "info") -> str | None:
    """Send one message through Apprise; None when it went out, else why not (for people, no secrets)."""
    client = apprise.Apprise()
    if not client.add(url):
        return "Apprise cannot use this URL"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        sent = bool(client.notify(body=body or title, title=title, notify_type=LEVELS.get(level, LEVELS["info"])))
    if sent:
        return None
    lines = [_LOG_PREFIX.sub("", line).strip() for line in captured.getvalue().splitlines() if line.strip()]
    return (lines[-1] if lines else "Apprise reported a failure")[:500]


def deliver_due(now=None) -> int:
    """Deliver (or hold back) every due message; returns how many were handled."""
    now = now or timezone.now()
    Notification.objects.filter(status=DeliveryStatus.SENDING, next_attempt_at__lt=now).update(
        status=DeliveryStatus.PENDING
    )
    handled = 0
    while True:
        due = list(
            Notification.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:BATCH]
        )
        if not due:
            return handled
        for pk in due:
            # Compare-and-set: of two senders, one claims the message.
            lease = timezone.now() + timedelta(seconds=LEASE_SECONDS)
            if Notification.objects.filter(pk=pk, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease
            ):
                _deliver(Notification.objects.select_related("target").get(pk=pk))
                handled += 1


def _deliver(message: Notification):
    target = message.target
    now = timezone.now()
    window = timedelta(minutes=settings.NOTIFY_RATE_LIMIT_MINUTES)
    same = Notification.objects.filter(target=target, kind=message.kind, subject=message.subject)
    last = same.filter(status=DeliveryStatus.SENT).order_by("-sent_at").first()
    if window and last is not None and last.sent_at > now - window:
        _set(message, status=DeliveryStatus.SUPPRESSED, error="")
        return
    held = same.filter(status=DeliveryStatus.SUPPRESSED, id__lt=message.id)
    if last is not None:
        held = held.filter(id__gt=last.id)
    held = held.count()
    body = message.body
    if held:
        since = f" since {timezone.localtime(last.sent_at):%H:%M}" if last else ""
        body += f"\n\n({held} more like this {'was' if held == 1 else 'were'} held back{since}.)"
    if message.link and settings.SITE_URL:
        body += f"\n{settings.SITE_URL}{message.link}"
    failure = send(target.url, message.title, body, message.level)
    now = timezone.now()
    if failure is None:
        _set(message, status=DeliveryStatus.SENT, sent_at=now, error="", reported_suppressed=held)
        NotificationTarget.objects.filter(pk=target.pk).update(last_sent_at=now)
        return
    retries = settings.NOTIFY_RETRY_SECONDS
    logger.warning(
        "Notification %s to %s (%s) failed, attempt %d: %s",
        message.kind,
        target,
        target.masked_url,
        message.attempts,
        failure,
    )
    NotificationTarget.objects.filter(pk=target.pk).update(last_error=failure, last_error_at=now)
    if message.attempts <= len(retries):
        _set(
            message,
            status=DeliveryStatus.PENDING,
            error=failure,
            next_attempt_at=now + timedelta(seconds=retries[message.attempts - 1]),
        )
    else:
        _set(message, status=DeliveryStatus.FAILED, error=failure)


def purge_old(now=None) -> int:
    """Delete finished messages older than NOTIFY_RETENTION_DAYS (the outbox is a log, not an archive)."""
    cutoff = (now or timezone.now()) - timedelta(days=RETENTION_DAYS)
    finished = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED)
    deleted, _ = Notification.objects.filter(status__in=finished, created_at__lt=cutoff).delete()
    return deleted


def _set(message: Notification, **fields):
    Notification.objects.filter(pk=message.pk).update(**fields)


class Sender:
    """The sender loop (a thread of `manage.py runhealth`): delivers what is due, then waits for a
    wake-up or NOTIFY_POLL_SECONDS."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self._wake = threading.Event()

    def _woken(self, topic, key):
        self._wake.set()

    def run(self):
        wakeups.listen_in_thread((wakeups.NOTIFY,), self._woken)
        last_purge = 0.0
        while not self.stop.is_set():
            try:
                deliver_due()
                if time.monotonic() - last_purge > PURGE_EVERY_SECONDS:
                    last_purge = time.monotonic()
                    purge_old()
            except Exception:  # the database went away: try again at the next poll
                logger.exception("Delivering notifications failed")
            finally:
                close_old_connections()
            self._wake.wait(settings.NOTIFY_POLL_SECONDS)
            self._wake.clear()

    def wake(self):
        self._wake.set()
