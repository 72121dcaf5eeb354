"""The plan page's Apply buttons: start an `apply_plan` job for a plan (or one of its scenes).

Like the Scenes page buttons, this goes through jobs.services so the parameters are validated by the
job type's schema. It lives in jobs, not stash, because jobs depend on stash and never the reverse.
A request that cannot start a job gets the plan page back with the reason (HTTP 409 for the plan's state,
400 for bad input) and creates nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from jobs.queries import live_active_jobs
from jobs.services import JobError, create_job
from stash.models import AnalysisPlan, ChangeStatus
from stash.plan_views import render_plan_detail
from stash.plans.review import refuse_closed
from stash.plans.values import PlanStateError


@login_required
@require_POST
def apply_plan(request, plan_id):
    plan = get_object_or_404(AnalysisPlan, pk=plan_id)
    try:
        refuse_closed(plan)
    except PlanStateError as exc:
        return _refuse(request, plan, str(exc), 409)
    running = live_active_jobs("apply_plan").filter(parameters__plan_id=plan.pk).first()
    if running is not None:
        return _refuse(request, plan, f"Plan {plan.pk} is already being applied by job {running.pk}.", 409)
    params = {
        "plan_id": plan.pk,
        "auto_approve": "auto_approve" in request.POST,
        "create_missing": "create_missing" in request.POST,
    }
    changes = plan.changes.all()
    raw_scene = request.POST.get("scene_id", "").strip()
    if raw_scene:
        if not raw_scene.isdigit() or len(raw_scene) > 18:
            return _refuse(request, plan, f"The scene id must be an integer, not {raw_scene!r}.", 400)
        params["scene_ids"] = [int(raw_scene)]
        changes = changes.filter(scene_id=int(raw_scene))
    wanted = [ChangeStatus.APPROVED, *([ChangeStatus.PENDING] if params["auto_approve"] else [])]
    if not changes.filter(status__in=wanted).exists():
        what = "approved or pending" if params["auto_approve"] else "approved"
        return _refuse(
            request, plan, f"Nothing to apply: no {what} changes{' in this scene' if raw_scene else ''}.", 409
        )
    try:
        job = create_job("apply_plan", params)
    except JobError as exc:
        return _refuse(request, plan, f"The job was not created: {exc.message} {exc.errors or ''}".strip(), 400)
    messages.success(request, f"Apply job created for plan “{plan.name}”; a worker picks it up shortly.")
    return redirect(job)


def _refuse(request, plan, message: str, status: int):
    messages.error(request, message)
    return render_plan_detail(request, plan.pk, status=status)
