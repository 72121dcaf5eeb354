"""Job pages: active jobs and history, a job's detail, and the "run a job" form.

Views translate HTTP to jobs.services and back; every rule (validation, state transitions) lives there.
A request the job's state does not allow (cancelling a finished job) gets the page back with the error
and HTTP 409; invalid "run a job" input gets the form back with its errors and HTTP 400.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from jobs import presentation
from jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobStatus
from jobs.services import JobError, JobStateError, cancel_job, create_job, retry_job
from jobs.types import REGISTRY, all_kinds, get_kind
from orchestrator.schema_forms import form_fields, other_errors

PAGE_SIZE = 25
# The active table shows everything in flight; past this many the page would only get slow.
ACTIVE_LIMIT = 200


@login_required
def job_list(request):
    active = Job.objects.filter(status__in=ACTIVE_STATUSES).order_by("-created_at")[:ACTIVE_LIMIT]
    filters = _history_filters(request.GET)
    # Newest finished first: a job that ends while the page is open goes to the top, as live.js puts it.
    history = Job.objects.filter(status__in=TERMINAL_STATUSES, **filters).order_by(
        F("finished_at").desc(nulls_last=True), "-created_at"
    )
    # order_by() first: the model's default ordering would otherwise join DISTINCT and return every row.
    daemons = Job.objects.exclude(created_by="").order_by("created_by").values_list("created_by", flat=True).distinct()
    context = {
        "active_jobs": list(active),
        "history_page": Paginator(history, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": {key: filters.get(key, "") for key in ("type", "status", "created_by")},
        "type_choices": [(kind.type, kind.label) for kind in all_kinds()],
        "status_choices": [(s.value, s.label) for s in TERMINAL_STATUSES],
        "daemon_choices": list(daemons),
        "page_size": PAGE_SIZE,
    }
    return render(request, "jobs/list.html", context)


@login_required
def job_detail(request, pk):
    return _render_detail(request, get_object_or_404(Job, pk=pk))


@login_required
@require_POST
def job_cancel(request, pk):
    job = get_object_or_404(Job, pk=pk)
    try:
        job = cancel_job(job)
    except JobStateError as exc:
        messages.error(request, exc.message)
        return _render_detail(request, job, status=409)
    if job.status == JobStatus.CANCELLED:
        messages.success(request, "Job cancelled before it started.")
    else:
        messages.success(request, "Cancellation requested: the job stops at its next checkpoint.")
    return redirect(job)


@login_required
@require_POST
def job_retry(request, pk):
    job = get_object_or_404(Job, pk=pk)
    try:
        new_job = retry_job(job, requested_by=request.user.get_username())
    except JobStateError as exc:
        messages.error(request, exc.message)
        return _render_detail(request, job, status=409)
    except JobError as exc:  # the type's parameters changed since: the old ones no longer validate
        messages.error(request, f"{exc.message} {'; '.join(_flat_errors(exc.errors))}")
        return _render_detail(request, job, status=400)
    messages.success(request, f"Retried as a new job with the original parameters (retry of {str(job.pk)[:8]}).")
    return redirect(new_job)


@login_required
@require_http_methods(["GET", "POST"])
def job_run(request):
    """Pick a job type, fill its parameters (validated exactly like the API's), create the job."""
    if request.method == "POST":
        job_type = request.POST.get("type", "")
        kind = get_kind(job_type)
        values = kind.parameters.from_form(request.POST) if kind else {}
        try:
            job = create_job(job_type, values, requested_by=request.user.get_username())
        except JobError as exc:
            messages.error(request, f"The job was not created: {exc.message}")
            return render(request, "jobs/run.html", _run_context(job_type, values, exc.errors), status=400)
        messages.success(request, f"{job.type_label} job created; a worker picks it up shortly.")
        return redirect(job)
    job_type = request.GET.get("type") or min(REGISTRY)
    errors = {} if get_kind(job_type) else {"type": [f"Unknown job type {job_type!r}."]}
    return render(request, "jobs/run.html", _run_context(job_type, {}, errors))


# --- helpers -------------------------------------------------------------------------------------


def _history_filters(params) -> dict:
    """Only known values filter; anything else is ignored rather than turned into an empty page."""
    filters = {}
    if params.get("type") in REGISTRY:
        filters["type"] = params["type"]
    if params.get("status") in TERMINAL_STATUSES:
        filters["status"] = params["status"]
    if params.get("created_by"):
        filters["created_by"] = params["created_by"]
    return filters


def _render_detail(request, job: Job, status: int = 200):
    summary, details = presentation.error_summary(job, with_traceback=request.user.is_staff)
    context = {
        "job": job,
        "parameters_json": _pretty(job.parameters),
        "result_json": _pretty(job.result) if job.result is not None else "",
        "error_summary": summary,
        "error_details": details,
        "has_traceback": bool(job.traceback) and request.user.is_staff,
        "result_rows": presentation.result_rows(job),
        "related": presentation.related(job),
        "started_by": presentation.started_by(job),
        "children": list(job.children.order_by("created_at")[:50]),
        "retries": list(job.retries.order_by("created_at")[:20]),
        "duration": format_duration(job.duration_seconds),
    }
    return render(request, "jobs/detail.html", context, status=status)


def _run_context(job_type: str, values: dict, errors: dict) -> dict:
    kind = get_kind(job_type)
    parameter_errors = errors.get("parameters") if isinstance(errors.get("parameters"), dict) else {}
    kinds = [
        {"type": k.type, "label": k.label, "description": k.description}
        for k in sorted(all_kinds(), key=lambda k: k.type)
    ]
    return {
        "kinds": kinds,
        "job_type": job_type,
        "kind": kind,
        "kind_label": kind.label if kind else job_type,
        "fields": form_fields(kind.parameters, values, parameter_errors) if kind else [],
        "type_errors": errors.get("type", []),
        "other_errors": other_errors(kind.parameters, parameter_errors) if kind else [],
    }


def _pretty(value) -> str:
    # Sorted keys, as live.js renders pushed results, so a push does not reshuffle the text.
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def format_duration(seconds: float | None) -> str:
    """12.3 s, 4 min 5 s, 2 h 3 min (live.js formats durations the same way)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _flat_errors(errors: dict) -> list[str]:
    params = errors.get("parameters")
    if isinstance(params, dict):
        return [f"{key}: {m}" for key, msgs in params.items() for m in msgs]
    return [m for msgs in errors.values() if isinstance(msgs, list) for m in msgs]
