"""The outbox: an event becomes one pending Notification per URL that wants its kind.

Installed behind orchestrator/notify.py by health/apps.py. The rows are written after the caller's
transaction commits (a rolled-back job failure notifies nobody), in one INSERT, and the sender is woken
(wake-up topic `notify`); a caller on an event loop (a daemon) hands the write to a short thread so that
the loop never waits on the database for it.
"""

import asyncio
import logging
import threading

from django.db import close_old_connections, transaction
from django.utils import timezone

from health.notifications.models import Notification, NotificationTarget
from orchestrator import wakeups

logger = logging.getLogger(__name__)


def enqueue(kind: str, subject: str, title: str, body: str, *, link: str = "", level: str = "info"):
    def write():
        rows = _rows(kind, subject, title, body, link, level)
        if rows:
            wakeups.announce(wakeups.NOTIFY)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # robust: a failure to queue is logged by Django, never raised into the code that committed.
        transaction.on_commit(write, robust=True)
        return
    threading.Thread(target=_in_thread, args=(write,), name="notify-outbox", daemon=True).start()


def _in_thread(write):
    try:
        write()
    except Exception:
        logger.exception("Notification not queued")
    finally:
        close_old_connections()


def _rows(kind, subject, title, body, link, level) -> list[Notification]:
    targets = [t for t in NotificationTarget.objects.filter(enabled=True) if kind in (t.events or [])]
    if not targets:
        return []
    now = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            target=t, kind=kind, subject=subject, title=title, body=body, link=link, level=level, next_attempt_at=now
        )
        for t in targets
    )
