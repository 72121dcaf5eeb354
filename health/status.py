"""What the health page and its API show: every registered check with its stored result (a check never
run yet shows as "not checked yet"), and whether the health loop is keeping the results fresh."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from health.checks import Check, all_checks
from health.models import CheckState, HealthCheck

# Results older than this many intervals: the health loop is not running.
STALE_INTERVALS = 3


@dataclass
class Row:
    check: Check
    stored: HealthCheck

    @property
    def name(self) -> str:
        return self.check.name


def rows() -> list[Row]:
    stored = {row.name: row for row in HealthCheck.objects.all()}
    return [Row(check, stored.get(check.name) or HealthCheck(name=check.name)) for check in all_checks()]


def loop_is_stale(now=None) -> bool:
    """True when no check ran for STALE_INTERVALS intervals: `runhealth` (a process of make run) is down."""
    now = now or timezone.now()
    last = HealthCheck.objects.exclude(last_run_at=None).order_by("-last_run_at").values_list("last_run_at", flat=True)
    latest = last.first()
    limit = timedelta(seconds=settings.HEALTH_CHECK_INTERVAL_SECONDS * STALE_INTERVALS + 30)
    return latest is None or now - latest > limit


def to_state(row: Row) -> dict:
    s = row.stored
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {
        "name": row.name,
        "title": row.check.title,
        "description": row.check.description,
        "state": s.state or CheckState.UNKNOWN,
        "reason": s.reason,
        "fix": s.fix,
        "details": s.details,
        "since": iso(s.since),
        "first_failed_at": iso(s.first_failed_at),
        "last_ok_at": iso(s.last_ok_at),
        "last_run_at": iso(s.last_run_at),
        "duration_ms": s.duration_ms,
        "requested_at": iso(s.requested_at),
    }
