"""Notifications as the layers below the health app see them: "this happened, tell whoever wants to know".

Jobs fail (jobs/notify.py), daemons crash or fall into error (daemons/host.py, daemons/base.py),
downloads are imported (stash/downloads/processing.py), an analysis leaves a plan to review
(stash/plans/review.py), health checks fail and recover (health/runner.py). None of them may import the
app that delivers (dependencies run orchestrator ← stash ← jobs ← daemons ← health), so they call this
port, and the health app installs the real outbox behind it when Django starts (health/apps.py).

`event()` never waits on the network and never raises for a delivery problem (an unknown kind is a
programming error: ValueError): the outbox writes one row per subscribed
notification URL (after the caller's transaction commits) and a sender thread delivers later.
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Event kinds a notification URL can subscribe to: kind → what the settings page calls it.
JOB_FAILED = "job_failed"
DAEMON_ERROR = "daemon_error"
HEALTH_FAILED = "health_failed"
HEALTH_RESTORED = "health_restored"
DOWNLOADS_IMPORTED = "downloads_imported"
PLAN_READY = "plan_ready"
TEST = "test"

EVENTS = {
    JOB_FAILED: "A job failed",
    DAEMON_ERROR: "A daemon is in error or crash-looping",
    HEALTH_FAILED: "A health check failed",
    HEALTH_RESTORED: "A health check is ok again",
    DOWNLOADS_IMPORTED: "Downloads were imported",
    PLAN_READY: "A plan is ready for review",
}

Sink = Callable[..., None]
_sink: Sink | None = None


def install(sink: Sink):
    global _sink
    _sink = sink


def event(kind: str, subject: str, title: str, body: str = "", *, link: str = "", level: str = "info"):
    """Raise an event: `kind` one of EVENTS, `subject` what it is about (a job type, a daemon's name, a
    check's name: the rate limit counts per kind and subject), `title`/`body` the message, `link` a path
    of this site, `level` info, success, warning or failure. Without an installed outbox (the health app
    not in INSTALLED_APPS) nothing happens."""
    if kind not in EVENTS:
        raise ValueError(f"Unknown notification event {kind!r}")
    if _sink is None:
        return
    try:
        _sink(kind, str(subject)[:200], str(title)[:250], str(body)[:4000], link=link, level=level)
    except Exception:  # a notification must never break the job, daemon or check that raised it
        logger.exception("Notification %s about %s not queued", kind, subject)
