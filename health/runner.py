"""Running one check: in a thread of its own with a deadline, then storing its result.

A check may hang (a host that drops packets, a stuck NFS mount): after HEALTH_CHECK_TIMEOUT_SECONDS its
run counts as an error and the caller goes on; the thread is left to finish on its own, and no second
run of that check starts while it still hangs. Storing a result keeps `since`, `first_failed_at` and
`last_ok_at`, and raises "health check failed" when a check falls into error and "restored" when a check
that had failed is ok again (orchestrator/notify.py).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from health import live
from health.checks import ERROR, OK, Result, error, get_check
from health.models import CheckState, HealthCheck
from orchestrator import notify
from orchestrator.paths import health_path

logger = logging.getLogger(__name__)

_running: dict[str, threading.Thread] = {}
_running_lock = threading.Lock()


def run_check(name: str, timeout: float | None = None) -> HealthCheck:
    """Run the check `name` now (at most `timeout` seconds) and store its result; returns the stored row."""
    check = get_check(name)
    if check is None:
        raise KeyError(name)
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    box: dict[str, Result] = {}

    def work():
        try:
            box["result"] = check.run()
        except Exception as exc:  # a check's own bug must show on the page, not kill the loop
            logger.exception("Health check %s raised", name)
            box["result"] = error(f"The check itself failed: {type(exc).__name__}: {exc}", "See the log for details.")
        finally:
            connections.close_all()  # this thread's connections only

    started = time.monotonic()
    with _running_lock:
        previous = _running.get(name)
        hanging = previous is not None and previous.is_alive()
        if not hanging:
            thread = threading.Thread(target=work, name=f"health-{name}", daemon=True)
            _running[name] = thread
            thread.start()
    if hanging:
        result = error(
            f"The previous run of this check is still waiting for an answer, more than {timeout:g} s later.",
            "The dependency hangs: restart it (or the machine's mount it uses).",
        )
    else:
        thread.join(timeout)
        result = box.get("result") or error(
            f"No answer within {timeout:g} s: the dependency hangs or is very slow.",
            "Restart it, or check the network between it and this machine.",
        )
    return record(name, result, round((time.monotonic() - started) * 1000))


def record(name: str, result: Result, duration_ms: int) -> HealthCheck:
    now = timezone.now()
    with transaction.atomic():
        row, _ = HealthCheck.objects.select_for_update().get_or_create(name=name)
        before, before_reason = row.state, row.reason
        if result.state != before:
            row.since = now
        if result.state == OK:
            row.last_ok_at = now
            row.first_failed_at = None
        elif row.first_failed_at is None:
            row.first_failed_at = now
        row.state = result.state
        row.reason, row.fix, row.details = result.reason, result.fix, result.details
        row.last_run_at, row.duration_ms, row.requested_at = now, duration_ms, None
        event = None
        if result.state == ERROR and not row.alerted:
            row.alerted, event = True, notify.HEALTH_FAILED
        elif result.state == OK and row.alerted:
            row.alerted, event = False, notify.HEALTH_RESTORED
        row.save()
        if event:
            _notify(event, name, row)
        if ERROR in (before, result.state) and (before, before_reason) != (result.state, result.reason):
            live.banner_changed()
    if result.state != before and before != CheckState.UNKNOWN:
        log = logger.warning if result.state != OK else logger.info
        log("Health check %s: %s → %s: %s", name, before, result.state, result.reason)
    return row


def _notify(event: str, name: str, row: HealthCheck):
    title = get_check(name).title
    if event == notify.HEALTH_FAILED:
        notify.event(
            event,
            name,
            f"Health check failed: {title}",
            f"{row.reason}\nFix: {row.fix}",
            link=health_path(),
            level="failure",
        )
    else:
        notify.event(event, name, f"Health check ok again: {title}", row.reason, link=health_path(), level="success")
