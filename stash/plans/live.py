"""What live pages see of plans: the payloads, the coalescing publisher every plan write goes through,
and the connect-time snapshot.

Groups: `plans` (the list) carries `plan.<id>` (a plan's page). Payloads (whole state, built after the
transaction commits, from the database):
- {"type": "plan", "plan": {...}, "html": {"row", "facts"}} to both: status and counts;
- {"type": "plan_changes", "plan_id", "changes": [{"id", "status"}], "html": {"rows": {id: row}},
  "reload": bool} to the plan's page: the changes a transaction touched, or, when it touched more than
  MAX_ROWS or added changes, "reload" and no rows (the page re-reads its own page of rows).

Most plan writes bypass save() (review and apply use QuerySet.update(), add_changes bulk_create()), so
they call `changed()` explicitly; save()s reach it through post_save. Calls in one transaction are
coalesced per plan: an apply records each scene in one transaction, so a plan page gets one plan
payload and one payload with that scene's few rows per scene, never the whole plan per change; a bulk
review of 500 changes is one plan payload and one reload. In autocommit each write publishes at once.

Fragments use built-in tags only (orchestrator/live/fragments.py): the change rows get
`change_display()` from the plan_format module as context instead of its filter, so workers render them
without the project's template engine.
"""

from django.db.models.signals import post_save

from orchestrator.live import groups, snapshots
from orchestrator.live.coalesce import Coalescer
from orchestrator.live.fragments import render_fragment
from orchestrator.live.groups import LiveGroup, page_key
from orchestrator.live.publisher import publish
from stash.plans.models import AnalysisPlan, PlanChange
from stash.templatetags.plan_format import change_display

PLANS = "plans"
GROUP = LiveGroup(PLANS, page="plan", key=r"[0-9]{1,18}")
# Rows a push carries at most; past it the page re-reads its rows (20 scenes) instead.
MAX_ROWS = 100
# The list's snapshot: its first page.
SNAPSHOT_LIMIT = 25


def connect():
    groups.register(GROUP)
    snapshots.register(PLANS, snapshot)
    post_save.connect(_plan_saved, sender=AnalysisPlan, dispatch_uid="stash.plans.live.plan")
    post_save.connect(_change_saved, sender=PlanChange, dispatch_uid="stash.plans.live.change")


def plan_group(plan_id) -> str:
    return GROUP.page_group(plan_id)


# --- payloads ----------------------------------------------------------------------------------


def plan_state(plan: AnalysisPlan) -> dict:
    """`plan` must be annotated with_counts()."""
    counts = {status: getattr(plan, f"{status}_count") for status in ("pending", "approved", "rejected")}
    counts.update(applied=plan.applied_count, failed=plan.failed_count)
    return {
        "id": plan.pk,
        "name": plan.name,
        "status": plan.status,
        "status_label": plan.get_status_display(),
        "total": plan.total_count,
        "scenes": plan.scene_count,
        "counts": counts,
        "applied_at": plan.applied_at.isoformat() if plan.applied_at else None,
        "url": plan.get_absolute_url(),
    }


def plan_payload(plan: AnalysisPlan) -> dict:
    context = {"plan": plan}
    return {
        "type": "plan",
        "plan": plan_state(plan),
        "html": {
            "row": render_fragment("stash/plans/_plan_row.html", context),
            "facts": render_fragment("stash/plans/_plan_facts.html", context),
        },
    }


def change_row(change: PlanChange) -> str:
    return render_fragment("stash/plans/_change_row.html", {"change": change, "shown": change_display(change)})


def changes_payload(plan_id: int, changes: list[PlanChange] | None) -> dict:
    """`changes` None: too many (or new ones) to send; the page re-reads its rows."""
    return {
        "type": "plan_changes",
        "plan_id": plan_id,
        "changes": [{"id": c.pk, "status": c.status} for c in changes or ()],
        "html": {"rows": {str(c.pk): change_row(c) for c in changes or ()}},
        "reload": changes is None,
    }


def snapshot(group: str) -> list[dict]:
    """plans: the newest plans (the list's first page); plan.<id>: that plan (its page re-reads its rows
    after a reconnect)."""
    plans = AnalysisPlan.objects.with_counts().order_by("-created_at", "-id")
    if group == PLANS:
        return [plan_payload(p) for p in plans[:SNAPSHOT_LIMIT]]
    plan = plans.filter(pk=page_key(group)).first()
    return [plan_payload(plan)] if plan else []


# --- publishing ------------------------------------------------------------------------------------

RELOAD = "reload"  # noted instead of change ids: new changes, whose place on the page only the page knows


def _flush(plan_id: int, noted: set):
    plan = AnalysisPlan.objects.with_counts().filter(pk=plan_id).first()
    if plan is None:
        return
    publish((PLANS, plan_group(plan_id)), plan_payload(plan))
    change_ids = noted - {RELOAD}
    if RELOAD in noted or len(change_ids) > MAX_ROWS:
        publish(plan_group(plan_id), changes_payload(plan_id, None))
    elif change_ids:
        rows = list(PlanChange.objects.filter(pk__in=change_ids).order_by("id"))
        publish(plan_group(plan_id), changes_payload(plan_id, rows))


_coalescer = Coalescer(_flush)


def changed(plan_id: int, change_ids=(), *, reload: bool = False):
    """Publish plan `plan_id` (its state, and these changes' rows, or a reload when `reload`) once the
    current transaction commits; at once in autocommit. Every call for a plan in one transaction adds
    to one push."""
    _coalescer.note(plan_id, *change_ids, *((RELOAD,) if reload else ()))


def _plan_saved(sender, instance: AnalysisPlan, **kwargs):
    changed(instance.pk)


def _change_saved(sender, instance: PlanChange, created: bool, **kwargs):
    changed(instance.plan_id, [instance.pk], reload=created)
