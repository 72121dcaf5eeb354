"""The health loop, `manage.py runhealth` (a process of runstack): every check every
HEALTH_CHECK_INTERVAL_SECONDS, a requested one ("Check now" from the API) at once, and the notification
sender in a thread beside it.

Why a process of its own rather than a daemon kind or a job type: the checks look at the daemons and
the workers themselves (a check run by a daemon could not report that daemon hosts are gone), the
sender must keep going while daemons crash, and health sits above every other layer. It is cheap: each
check is one short request or a few queries, run four at a time, each with its own deadline
(health/runner.py), so one hanging dependency delays nothing else.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from health.checks import REGISTRY
from health.models import HealthCheck
from health.notifications.sender import Sender
from health.runner import run_check
from orchestrator import wakeups

logger = logging.getLogger(__name__)

PARALLEL = 4


def due_checks(now=None) -> list[str]:
    """Checks never run, requested, or last run an interval ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HEALTH_CHECK_INTERVAL_SECONDS)
    fresh = set(
        HealthCheck.objects.filter(last_run_at__gt=cutoff, requested_at__isnull=True).values_list("name", flat=True)
    )
    return [name for name in REGISTRY if name not in fresh]


def request(name: str):
    """Ask the loop to run a check now (the API's "check now")."""
    HealthCheck.objects.get_or_create(name=name)
    HealthCheck.objects.filter(name=name).update(requested_at=timezone.now())
    wakeups.announce(wakeups.HEALTH, name)


def run_round(stop: threading.Event | None = None) -> list[str]:
    """Run the due checks, PARALLEL at a time, on daemon threads: a stop request returns at once (the
    threads end with the process) instead of waiting out a hanging check's deadline."""
    names = due_checks()
    todo = list(names)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo or (stop is not None and stop.is_set()):
                    return
                name = todo.pop(0)
            _run_one(name)

    threads = [threading.Thread(target=worker, name="health", daemon=True) for _ in range(min(PARALLEL, len(todo)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            if stop is not None and stop.is_set():
                return names
            thread.join(0.2)
    return names


def _run_one(name: str):
    try:
        run_check(name)
    except Exception:
        logger.exception("Health check %s could not be stored", name)
    finally:
        close_old_connections()


class HealthLoop:
    def __init__(self):
        self.stop = threading.Event()
        self._wake = threading.Event()
        self.sender = Sender(self.stop)

    def request_stop(self, *_):
        self.stop.set()
        self._wake.set()
        self.sender.wake()

    def _woken(self, topic, key):
        self._wake.set()

    def run(self):
        logger.info("Health loop started: %d checks every %g s", len(REGISTRY), settings.HEALTH_CHECK_INTERVAL_SECONDS)
        wakeups.listen_in_thread((wakeups.HEALTH,), self._woken)
        sender = threading.Thread(target=self.sender.run, name="notify-sender", daemon=True)
        sender.start()
        # Not in the start-up burst of the stack: the web server and the hosts come up first.
        self._wake.wait(settings.HEALTH_FIRST_DELAY_SECONDS)
        while not self.stop.is_set():
            try:
                run_round(self.stop)
            except Exception:  # the database is down: the next round tries again
                logger.exception("Health round failed")
            finally:
                close_old_connections()
            self._wake.wait(self._until_next())
            self._wake.clear()
        sender.join(timeout=10)
        logger.info("Health loop stopped")

    def _until_next(self) -> float:
        try:
            last = HealthCheck.objects.filter(~Q(last_run_at=None)).order_by("last_run_at").first()
        except Exception:
            return settings.HEALTH_CHECK_INTERVAL_SECONDS
        if last is None:
            return 1.0
        next_at = last.last_run_at + timedelta(seconds=settings.HEALTH_CHECK_INTERVAL_SECONDS)
        return min(settings.HEALTH_CHECK_INTERVAL_SECONDS, max(0.5, (next_at - timezone.now()).total_seconds()))
