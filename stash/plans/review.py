"""Building plans and reviewing them, with the one plan-status rule every path uses.

The rule (`status_for`), applied after every review action, every apply and every cancel:
- a plan with no changes keeps its status;
- nothing pending or approved left and at least one change applied → applied;
- nothing pending or approved left and every change rejected → cancelled (unless an analysis job is still
  adding changes to it: rejecting everything proposed so far must not close a plan being built);
- any change no longer pending (reviewed, applied or failed) → a draft becomes reviewing;
- applied and cancelled plans are final: they refuse review and apply.

Review writes lock the plan row (`select_for_update`) for the check, the change updates and the status
rule, so a cancel, an apply job marking changes applied and a reviewer cannot interleave into a state
the rule would not produce. Applied changes are never re-reviewed: every update excludes them.

Change writes use update() and bulk_create(), which fire no signal: each tells `live.changed()` which
changes it touched, so open plan pages get them after commit (the plan's own save()s reach it through
post_save).
"""

from contextlib import contextmanager

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from orchestrator import notify, wakeups
from orchestrator.paths import plan_path
from stash.plans import live
from stash.plans.lookup import same_name
from stash.plans.models import AnalysisPlan, ChangeField, ChangeStatus, PlanChange, PlanStatus
from stash.plans.values import PlanError, PlanStateError, check_value, clean_change

CLOSED = (PlanStatus.APPLIED, PlanStatus.CANCELLED)
REVIEW_STATUSES = (ChangeStatus.APPROVED, ChangeStatus.REJECTED, ChangeStatus.PENDING)
# Bulk decisions take undecided changes (pending, or failed and waiting for a new decision); a bulk
# reset undoes decisions. Neither ever touches an applied change.
BULK_SOURCES = {
    ChangeStatus.APPROVED: (ChangeStatus.PENDING, ChangeStatus.FAILED),
    ChangeStatus.REJECTED: (ChangeStatus.PENDING, ChangeStatus.FAILED),
    ChangeStatus.PENDING: (ChangeStatus.APPROVED, ChangeStatus.REJECTED, ChangeStatus.FAILED),
}
BUILDING = "building"  # metadata key: an analysis job is still adding changes


# --- the status rule -------------------------------------------------------------------------------


def status_for(current: str, counts: dict, *, building: bool = False) -> str:
    """The plan status the rule gives for per-status change counts (see the module docstring)."""
    total = sum(counts.values())
    if current in CLOSED or total == 0:
        return current
    pending, approved = counts.get(ChangeStatus.PENDING, 0), counts.get(ChangeStatus.APPROVED, 0)
    if not pending and not approved:
        if counts.get(ChangeStatus.APPLIED, 0):
            return PlanStatus.APPLIED
        if counts.get(ChangeStatus.REJECTED, 0) == total and not building:
            return PlanStatus.CANCELLED
    return current if pending == total else PlanStatus.REVIEWING


def change_counts(plan_id) -> dict:
    rows = PlanChange.objects.filter(plan_id=plan_id).order_by().values_list("status").annotate(n=Count("id"))
    return dict(rows)


def refresh_status(plan: AnalysisPlan) -> str:
    """Apply the status rule to `plan` (locking its row) and return the status it ends with."""
    with transaction.atomic():
        locked = AnalysisPlan.objects.select_for_update().get(pk=plan.pk)
        _apply_rule(locked)
    plan.status, plan.applied_at = locked.status, locked.applied_at
    return plan.status


def _apply_rule(locked: AnalysisPlan):
    # Every review action, apply and cancel ends here: the plan applier re-checks after the commit.
    wakeups.announce(wakeups.PLANS, str(locked.pk))
    new = status_for(locked.status, change_counts(locked.pk), building=bool(locked.metadata.get(BUILDING)))
    if new != locked.status:
        locked.status = new
        fields = ["status", "updated_at"]
        if new == PlanStatus.APPLIED:
            locked.applied_at = timezone.now()
            fields.append("applied_at")
        locked.save(update_fields=fields)


def refuse_closed(plan: AnalysisPlan):
    if plan.status == PlanStatus.APPLIED:
        raise PlanStateError(f"Plan {plan.pk} is already applied: it can no longer be reviewed or applied.")
    if plan.status == PlanStatus.CANCELLED:
        raise PlanStateError(f"Plan {plan.pk} is cancelled: it can no longer be reviewed or applied.")


@contextmanager
def _open_plan(plan_id):
    """The plan's row, locked, refusing a closed plan; the status rule runs when the block ends."""
    with transaction.atomic():
        locked = AnalysisPlan.objects.select_for_update().filter(pk=plan_id).first()
        if locked is None:
            raise PlanError(f"Plan {plan_id} does not exist.")
        refuse_closed(locked)
        yield locked
        _apply_rule(locked)


def _sync(plan: AnalysisPlan, locked: AnalysisPlan):
    """Give the caller's instance what the locked row ended with."""
    plan.status, plan.applied_at, plan.metadata = locked.status, locked.applied_at, locked.metadata


def _sync_change_plan(change: PlanChange, locked: AnalysisPlan):
    if PlanChange.plan.is_cached(change):
        _sync(change.plan, locked)


# --- building plans --------------------------------------------------------------------------------


def create_plan(name: str, source_job_id=None, metadata: dict | None = None, *, description: str = "") -> AnalysisPlan:
    """A new draft plan. A plan made by a job (source_job_id) counts as being built until finish_plan()."""
    name = (name or "").strip()
    if not name:
        raise PlanError("A plan needs a name.")
    if metadata is not None and not isinstance(metadata, dict):
        raise PlanError("Plan metadata must be an object.")
    metadata = dict(metadata or {})
    if source_job_id is not None:
        metadata[BUILDING] = True
    return AnalysisPlan.objects.create(
        name=name[:255], description=description, source_job_id=source_job_id, metadata=metadata
    )


def add_changes(plan: AnalysisPlan, scene_id: int, changes: list[dict]) -> list[PlanChange]:
    """Add one scene's proposed changes (each validated by values.clean_change) as pending.

    All or nothing: one bad change refuses the lot. A closed plan refuses new changes, so an analysis
    still running after its plan was cancelled cannot keep filling it."""
    if isinstance(scene_id, bool) or not isinstance(scene_id, int) or scene_id < 1:
        raise PlanError(f"scene_id must be a Stash scene id (a positive integer), not {scene_id!r}.")
    if not isinstance(changes, list):
        raise PlanError("changes must be a list.")
    rows = []
    for index, data in enumerate(changes):
        try:
            rows.append(PlanChange(plan_id=plan.pk, scene_id=scene_id, **clean_change(data)))
        except PlanError as exc:
            raise PlanError(f"Change {index + 1} for scene {scene_id}: {exc}") from None
    with _open_plan(plan.pk) as locked:
        created = PlanChange.objects.bulk_create(rows)
        live.changed(plan.pk, reload=True)  # new rows: the page re-reads where they go
    _sync(plan, locked)
    return created


def finish_plan(plan: AnalysisPlan, metadata: dict | None = None) -> AnalysisPlan:
    """The job building the plan is done: merge final metadata, and let the status rule close it."""
    with transaction.atomic():
        locked = AnalysisPlan.objects.select_for_update().get(pk=plan.pk)
        locked.metadata = {**locked.metadata, **(metadata or {})}
        locked.metadata.pop(BUILDING, None)
        locked.save(update_fields=["metadata", "updated_at"])
        _apply_rule(locked)
        _notify_ready(locked)
    _sync(plan, locked)
    return plan


def _notify_ready(plan: AnalysisPlan):
    """A finished plan with changes waiting for a person (sent after the commit, by the port)."""
    pending = plan.changes.filter(status=ChangeStatus.PENDING).count()
    if not pending or plan.status not in (PlanStatus.DRAFT, PlanStatus.REVIEWING):
        return
    notify.event(
        notify.PLAN_READY,
        f"plan {plan.pk}",
        f"Plan ready for review: {plan.name}",
        f"{pending} proposed change{'s' if pending != 1 else ''} wait for review.",
        link=plan_path(plan.pk),
    )


# --- reviewing ---------------------------------------------------------------------------------------


def review_status(status) -> str:
    """A status a reviewer may set; anything else is an error (never "reject everything")."""
    if status not in REVIEW_STATUSES:
        raise PlanError(f"Unknown review status '{status}'; use one of: {', '.join(REVIEW_STATUSES)}.")
    return status


def set_change_status(change: PlanChange, status: str) -> PlanChange:
    """Approve, reject or reset one change. An applied change is final."""
    status = review_status(status)
    with _open_plan(change.plan_id) as locked:
        now = timezone.now()
        done = (
            PlanChange.objects.filter(pk=change.pk)
            .exclude(status=ChangeStatus.APPLIED)
            .update(status=status, error="", updated_at=now)
        )
        if not done:
            _refuse_change(change.pk)
        live.changed(change.plan_id, [change.pk])
    change.refresh_from_db()
    _sync_change_plan(change, locked)
    return change


def _refuse_change(change_id):
    if not PlanChange.objects.filter(pk=change_id).exists():
        raise PlanError(f"Change {change_id} does not exist.")
    raise PlanStateError(f"Change {change_id} was already applied to Stash; an applied change cannot be reviewed.")


def review_scene(plan: AnalysisPlan, scene_id: int, status: str) -> int:
    """Decide every undecided change of one scene (or reset its decisions); returns how many changed."""
    return review_where(plan, status, scene_id=scene_id)


def review_plan(plan: AnalysisPlan, status: str) -> int:
    """Decide every undecided change of the plan (or reset its decisions); returns how many changed."""
    return review_where(plan, status)


def review_by_field(plan: AnalysisPlan, field: str, status: str) -> int:
    return review_where(plan, status, field=field)


def review_by_confidence(plan: AnalysisPlan, threshold, status: str = ChangeStatus.APPROVED) -> int:
    """Decide the undecided changes whose confidence is at least `threshold` (0-1)."""
    if threshold is None:
        raise PlanError("The confidence threshold must be a number between 0 and 1, not None.")
    return review_where(plan, status, min_confidence=threshold)


def review_where(plan: AnalysisPlan, status: str, *, scene_id=None, field=None, min_confidence=None) -> int:
    """The bulk review: approve or reject the undecided changes matching every filter given, or reset
    the decided ones to pending (BULK_SOURCES). Returns how many changed."""
    status = review_status(status)
    filters = {}
    if scene_id is not None:
        if isinstance(scene_id, bool) or not isinstance(scene_id, int):
            raise PlanError(f"scene_id must be an integer, not {scene_id!r}.")
        filters["scene_id"] = scene_id
    if field is not None:
        if field not in ChangeField.values:
            raise PlanError(f"Unknown field {field!r}; use one of: {', '.join(ChangeField.values)}.")
        filters["field"] = field
    if min_confidence is not None:
        bad = isinstance(min_confidence, bool) or not isinstance(min_confidence, int | float)
        if bad or not 0 <= min_confidence <= 1:
            raise PlanError(f"The confidence threshold must be a number between 0 and 1, not {min_confidence!r}.")
        filters["confidence__gte"] = min_confidence
    with _open_plan(plan.pk) as locked:
        changes = PlanChange.objects.filter(plan_id=locked.pk, status__in=BULK_SOURCES[status], **filters)
        # Which rows the page must redraw; past live.MAX_ROWS it re-reads them all, so no more are read.
        touched = list(changes.values_list("pk", flat=True)[: live.MAX_ROWS + 1])
        count = changes.update(status=status, error="", updated_at=timezone.now())
        live.changed(locked.pk, touched)
    _sync(plan, locked)
    return count


def edit_proposed_value(change: PlanChange, value) -> PlanChange:
    """Replace a pending change's proposed value (checked like a new change's)."""
    check_value(change.field, change.action, change.current_value, value)
    with _open_plan(change.plan_id) as locked:
        done = PlanChange.objects.filter(pk=change.pk, status=ChangeStatus.PENDING).update(
            proposed_value=value, updated_at=timezone.now()
        )
        if not done:
            current = PlanChange.objects.filter(pk=change.pk).values_list("status", flat=True).first()
            if current is None:
                raise PlanError(f"Change {change.pk} does not exist.")
            raise PlanStateError(f"Change {change.pk} is {current}: only a pending change can be edited.")
        live.changed(change.plan_id, [change.pk])
    change.refresh_from_db()
    _sync_change_plan(change, locked)
    return change


def use_existing_name(change: PlanChange) -> PlanChange:
    """For a change that failed because Stash has a lookalike of a name it proposes (outcome
    "lookalike"), propose the entity Stash has instead; the change is pending again, to review."""
    lookalike = (change.outcome or {}).get("lookalike")
    if change.status != ChangeStatus.FAILED or not lookalike:
        raise PlanStateError(f"Change {change.pk} did not fail on a name Stash has a lookalike of.")
    value = _renamed(change.proposed_value, lookalike["name"], lookalike["existing"])
    check_value(change.field, change.action, change.current_value, value)
    outcome = {k: v for k, v in change.outcome.items() if k != "lookalike"}
    with _open_plan(change.plan_id) as locked:
        done = PlanChange.objects.filter(pk=change.pk, status=ChangeStatus.FAILED).update(
            proposed_value=value, status=ChangeStatus.PENDING, error="", outcome=outcome, updated_at=timezone.now()
        )
        if not done:
            raise PlanStateError(f"Change {change.pk} is no longer failed; reload the plan.")
        live.changed(change.plan_id, [change.pk])
    change.refresh_from_db()
    _sync_change_plan(change, locked)
    return change


def _renamed(value, name: str, existing: str):
    """`value` (a name, a list of names, or a marker's tags and primary tag) with `name` as `existing`."""
    if isinstance(value, str):
        return existing if same_name(value, name) else value
    if isinstance(value, list):
        return [_renamed(item, name, existing) for item in value]
    if isinstance(value, dict):
        return {k: _renamed(v, name, existing) if k in ("tags", "primary_tag") else v for k, v in value.items()}
    return value


def cancel_plan(plan: AnalysisPlan) -> AnalysisPlan:
    """Close the plan without applying what is left. Changes already applied stay applied."""
    with transaction.atomic():
        locked = AnalysisPlan.objects.select_for_update().filter(pk=plan.pk).first()
        if locked is None:
            raise PlanError(f"Plan {plan.pk} does not exist.")
        refuse_closed(locked)
        locked.status = PlanStatus.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
    _sync(plan, locked)
    return plan
