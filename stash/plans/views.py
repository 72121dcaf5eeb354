"""Plans pages: the list of analysis plans with their counts, and one plan's changes grouped by scene
with the review buttons (per change, per scene, per plan, by field, by confidence) and cancel.

Every rule is in stash.plans; these views translate forms to its calls. A refused request gets the plan
page back with the reason: HTTP 400 for bad input, 409 when the plan's or change's state forbids it.
The Apply buttons start an `apply_plan` job through orchestrator.job_queue (stash must not import jobs).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from orchestrator import job_queue, json_input
from orchestrator.json_input import JSONTooDeep
from stash import plans
from stash.models import Scene, SceneFile
from stash.plans import PlanError, PlanStateError
from stash.plans.models import AnalysisPlan, ChangeField, ChangeStatus, PlanChange, PlanStatus
from stash.plans.review import refuse_closed

PAGE_SIZE = 25
SCENES_PER_PAGE = 20
TEXT_FIELDS = (ChangeField.TITLE, ChangeField.DETAILS)


@login_required
def plan_list(request):
    status = request.GET.get("status", "")
    plans_qs = AnalysisPlan.objects.with_counts().order_by("-created_at", "-id")
    if status in PlanStatus.values:
        plans_qs = plans_qs.filter(status=status)
    else:
        status = ""
    context = {
        "page": Paginator(plans_qs, PAGE_SIZE).get_page(request.GET.get("page")),
        "status": status,
        "status_choices": PlanStatus.choices,
    }
    return render(request, "stash/plans/list.html", context)


@login_required
def plan_detail(request, pk):
    return render_plan_detail(request, pk)


def render_plan_detail(request, pk, *, status: int = 200):
    """The plan page; also what a refused action answers with (status 400/409)."""
    plan = get_object_or_404(AnalysisPlan.objects.with_counts(), pk=pk)
    change_filter = request.GET.get("status", "")
    changes = PlanChange.objects.filter(plan=plan)
    if change_filter in ChangeStatus.values:
        changes = changes.filter(status=change_filter)
    else:
        change_filter = ""
    scene_ids = changes.order_by("scene_id").values_list("scene_id", flat=True).distinct()
    page = Paginator(scene_ids, SCENES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "plan": plan,
        "page": page,
        "groups": _scene_groups(changes, list(page)),
        "change_filter": change_filter,
        "status_choices": ChangeStatus.choices,
        "field_choices": ChangeField.choices,
        "open": plan.can_be_applied,
    }
    return render(request, "stash/plans/detail.html", context, status=status)


def _scene_groups(changes, scene_ids: list) -> list[dict]:
    """[{scene_id, scene (mirror row or None), path, changes}] for one page of scenes, in 3 queries."""
    rows = changes.filter(scene_id__in=scene_ids).order_by("scene_id", "id")
    primary = Prefetch("files", queryset=SceneFile.objects.filter(position=0), to_attr="primary_files")
    scenes = Scene.objects.filter(pk__in=scene_ids).prefetch_related(primary).in_bulk()
    groups = {scene_id: {"scene_id": scene_id, "changes": []} for scene_id in scene_ids}
    for change in rows:
        groups[change.scene_id]["changes"].append(change)
    for scene_id, group in groups.items():
        scene = scenes.get(scene_id)
        group["scene"] = scene
        primary_file = scene.primary_files[0] if scene and scene.primary_files else None
        group["path"] = primary_file.path if primary_file else ""
        group["basename"] = primary_file.basename if primary_file else ""
        group["open"] = any(c.status != ChangeStatus.APPLIED for c in group["changes"])
    return list(groups.values())


# --- actions -------------------------------------------------------------------------------------------


@login_required
@require_POST
def plan_review(request, pk):
    """Approve, reject or reset: one change, one scene, the whole plan, a field, or above a confidence."""
    plan = get_object_or_404(AnalysisPlan, pk=pk)
    post = request.POST
    scope = post.get("scope", "")
    status = post.get("status", "")
    try:
        if scope == "change":
            change = get_object_or_404(PlanChange, pk=_number(post.get("change_id"), int, "change"), plan=plan)
            plans.set_change_status(change, status)
            count = 1
        elif scope == "scene":
            count = plans.review_scene(plan, _number(post.get("scene_id"), int, "scene"), status)
        elif scope == "plan":
            count = plans.review_plan(plan, status)
        elif scope == "field":
            count = plans.review_by_field(plan, post.get("field", ""), status)
        elif scope == "confidence":
            threshold = _number(post.get("threshold"), float, "confidence threshold")
            count = plans.review_by_confidence(plan, threshold, status)
        else:
            raise PlanError(f"Unknown review scope {scope!r}.")
    except PlanStateError as exc:
        return _refuse(request, plan, str(exc), 409)
    except PlanError as exc:
        return _refuse(request, plan, str(exc), 400)
    label = ChangeStatus(status).label.lower() if status != ChangeStatus.PENDING else "reset to pending"
    messages.success(request, f"{count} change{'' if count == 1 else 's'} {label}.")
    return _back(request, plan)


@login_required
@require_POST
def plan_cancel(request, pk):
    plan = get_object_or_404(AnalysisPlan, pk=pk)
    try:
        plans.cancel_plan(plan)
    except PlanStateError as exc:
        return _refuse(request, plan, str(exc), 409)
    messages.success(request, "Plan cancelled: nothing more of it will be applied.")
    return _back(request, plan)


@login_required
@require_POST
def change_edit(request, pk):
    """A new proposed value for a pending change: text for title/details, JSON for the others."""
    change = get_object_or_404(PlanChange.objects.select_related("plan"), pk=pk)
    raw = request.POST.get("value", "")
    try:
        if change.field in TEXT_FIELDS:
            value = raw
        else:
            try:
                value = json_input.loads(raw)
            except JSONTooDeep as exc:
                raise PlanError(f"The new value is {exc}.") from None
            except ValueError:
                example = 'for example "Kiss_AI" or ["A", "B"]'
                raise PlanError(f"The new value must be JSON, {example}; got {raw!r}.") from None
        plans.edit_proposed_value(change, value)
    except PlanStateError as exc:
        return _refuse(request, change.plan, str(exc), 409)
    except PlanError as exc:
        return _refuse(request, change.plan, str(exc), 400)
    messages.success(request, f"Change {change.pk} edited.")
    return _back(request, change.plan)


@login_required
@require_POST
def change_use_existing(request, pk):
    """Propose the entity Stash has instead of a name it refused as a lookalike (the change is pending again)."""
    change = get_object_or_404(PlanChange.objects.select_related("plan"), pk=pk)
    try:
        plans.use_existing_name(change)
    except PlanStateError as exc:
        return _refuse(request, change.plan, str(exc), 409)
    except PlanError as exc:
        return _refuse(request, change.plan, str(exc), 400)
    messages.success(request, f"Change {change.pk} now proposes what Stash has; review it to apply it.")
    return _back(request, change.plan)


def _number(raw, kind, what: str):
    try:
        return kind((raw or "").strip())
    except ValueError:
        raise PlanError(f"The {what} must be a number, not {raw!r}.") from None


def _refuse(request, plan, message: str, status: int):
    messages.error(request, message)
    return render_plan_detail(request, plan.pk, status=status)


def _back(request, plan):
    """To the plan page the form was posted from (its filters and page ride along in the query string)."""
    query = request.GET.urlencode()
    return HttpResponseRedirect(reverse("plans:detail", args=[plan.pk]) + (f"?{query}" if query else ""))


@login_required
@require_POST
def apply_plan(request, pk):
    """The Apply buttons: start an `apply_plan` job for the plan (or one of its scenes). A request that
    cannot start one gets the plan page back with the reason (409 for the plan's state, 400 for bad input)
    and creates nothing."""
    plan = get_object_or_404(AnalysisPlan, pk=pk)
    try:
        refuse_closed(plan)
    except PlanStateError as exc:
        return _refuse_apply(request, plan, str(exc), 409)
    running = job_queue.find_active("apply_plan", plan_id=plan.pk)
    if running is not None:
        return _refuse_apply(request, plan, f"Plan {plan.pk} is already being applied by job {running.id}.", 409)
    params = {
        "plan_id": plan.pk,
        "auto_approve": "auto_approve" in request.POST,
        "create_missing": "create_missing" in request.POST,
    }
    changes = plan.changes.all()
    raw_scene = request.POST.get("scene_id", "").strip()
    if raw_scene:
        if not raw_scene.isdigit() or len(raw_scene) > 18:
            return _refuse_apply(request, plan, f"The scene id must be an integer, not {raw_scene!r}.", 400)
        params["scene_ids"] = [int(raw_scene)]
        changes = changes.filter(scene_id=int(raw_scene))
    wanted = [ChangeStatus.APPROVED, *([ChangeStatus.PENDING] if params["auto_approve"] else [])]
    if not changes.filter(status__in=wanted).exists():
        what = "approved or pending" if params["auto_approve"] else "approved"
        where = " in this scene" if raw_scene else ""
        return _refuse_apply(request, plan, f"Nothing to apply: no {what} changes{where}.", 409)
    try:
        job = job_queue.submit("apply_plan", params, requested_by=request.user.get_username())
    except job_queue.JobRequestError as exc:
        return _refuse_apply(request, plan, f"The job was not created: {exc.message} {exc.errors or ''}".strip(), 400)
    messages.success(request, f"Apply job created for plan “{plan.name}”; a worker picks it up shortly.")
    return redirect(job)


def _refuse_apply(request, plan, message: str, status: int):
    messages.error(request, message)
    return render_plan_detail(request, plan.pk, status=status)
