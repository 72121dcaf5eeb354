"""Jobs started from the Scenes page's buttons ("Sync selected", "Generate selected", "Full sync", …).

They go through jobs.services exactly as the Jobs page and the API do, so the parameters are validated by
the job type's schema. Invalid input gets the Scenes page back with the error, HTTP 400 and no job created.
This lives in jobs, not stash, because jobs depend on stash and never the other way round.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from jobs.services import JobError, create_job
from stash.scene_views import render_scene_list

# A Stash id as posted: digits only, and small enough for the mirror's bigint keys.
SCENE_ID = re.compile(r"[0-9]{1,18}")

# Button name → (job type, parameters, whether it acts on the ticked scenes).
ACTIONS = {
    "sync_selected": ("sync_scenes", {}, True),
    "generate_selected": ("stash_generate", {}, True),
    "sync": ("sync", {}, False),
    "full_sync": ("sync", {"full": True}, False),
    "check_generation": ("check_stash_generate", {}, False),
    "scan": ("stash_scan", {}, False),
}


@login_required
@require_POST
def scene_action(request):
    """Start the job a Scenes page button names; the page's filters ride along in the query string."""
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return _refuse(request, f"Unknown action {action!r}.")
    job_type, parameters, on_selection = ACTIONS[action]
    posted = request.POST.getlist("scene_ids")
    if on_selection:
        bad = [value for value in posted if not SCENE_ID.fullmatch(value.strip())]
        if bad:
            return _refuse(request, "Scene ids must be integers; got " + ", ".join(repr(v) for v in bad[:5]) + ".")
        if not posted:
            return _refuse(request, "Select at least one scene first.")
        parameters = {**parameters, "scene_ids": sorted({int(value) for value in posted})}
    try:
        job = create_job(job_type, parameters)
    except JobError as exc:
        details = _parameter_errors(exc.errors)
        return _refuse(request, f"The job was not created: {exc.message} {details}".strip(), posted)
    messages.success(request, f"{job.type_label} job created; a worker picks it up shortly.")
    return redirect(job)


def _refuse(request, message: str, selected=()):
    messages.error(request, message)
    return render_scene_list(request, selected=selected, status=400)


def _parameter_errors(errors: dict) -> str:
    """The schema's complaints as "field: message" text; an unknown type's message says it all already."""
    params = errors.get("parameters")
    if isinstance(params, dict):
        return "; ".join(f"{key}: {m}" for key, msgs in params.items() for m in msgs)
    return ""
