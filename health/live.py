"""The health banner, live: every signed-in page subscribes to the "health" group, and a stored result
that changes what the banner says (a check falling into error, recovering, or failing for another reason)
pushes the banner's new HTML after commit. A page left open therefore shows the banner within a moment of
the check, not at its next load; the snapshot on (re)connect brings it up to date after a drop.

`connect()` runs from HealthConfig.ready.
"""

from django.db import DatabaseError, transaction

from health.checks import get_check
from health.models import CheckState, HealthCheck
from orchestrator.live import groups, snapshots
from orchestrator.live.fragments import render_fragment
from orchestrator.live.groups import LiveGroup
from orchestrator.live.publisher import publish

HEALTH = "health"
GROUP = LiveGroup(HEALTH)


def connect():
    groups.register(GROUP)
    snapshots.register(HEALTH, snapshot)


def failing() -> list[tuple[str, str]]:
    """(title, reason) of every check in error, as the banner shows them ([] without a migrated database)."""
    try:
        rows = list(HealthCheck.objects.filter(state=CheckState.ERROR).order_by("name").values_list("name", "reason"))
    except DatabaseError:  # an unmigrated database: the pages say so elsewhere
        return []
    checks = [(get_check(name), reason) for name, reason in rows]
    # Reasons are sentences; the banner joins them with ";".
    return [(check.title, reason.rstrip(". ")) for check, reason in checks if check is not None]


def payload() -> dict:
    banner = render_fragment("health/_banner.html", {"health_errors": failing()})
    return {"type": "health", "html": {"banner": banner}}


def snapshot(group: str) -> list[dict]:
    return [payload()]


def banner_changed():
    """Call inside the transaction that stored a result changing the banner: pushed once it commits."""
    transaction.on_commit(lambda: publish((HEALTH,), payload()))
