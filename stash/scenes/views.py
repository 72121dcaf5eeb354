"""Scene pages: the mirrored library with filters, one scene's detail, and the list's job buttons.

The buttons ("Sync selected", "Generate selected", "Full sync", …) start jobs through orchestrator.job_queue
(stash must not import jobs), validated by the job type's schema exactly as the Jobs page and the API do.
Invalid input gets the Scenes page back with the error, HTTP 400 and no job created."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from orchestrator import job_queue
from stash.models import Scene, SceneMarker
from stash.scenes import covers
from stash.scenes.filters import SceneFilters, scene_page_queryset

PAGE_SIZE = 50
# Chips shown per row before "+N more"; the detail page lists them all.
ROW_TAGS = 6
FLAG_LABELS = {
    "generated": "Generated",
    "video_analyzed": "AI-tagged",
    "analyzed": "Metadata analyzed",
    "organized": "Organized",
}
ENTITY_LABELS = {"tag": "Tag", "performer": "Performer", "studio": "Studio"}


@login_required
def scene_list(request):
    return render_scene_list(request)


@login_required
def scene_cover(request, pk):
    """The scene's cover from Stash (through the disk cache), or a placeholder when Stash has none or is down.
    The page's URL carries the cover's version, so a found cover may be kept by the browser for long."""
    scene = get_object_or_404(Scene.objects.only("id", "screenshot_url"), pk=pk)
    found = covers.cover(scene.pk, scene.screenshot_url)
    if found is None:
        response = HttpResponse(NO_COVER_SVG, content_type="image/svg+xml")
        response["Cache-Control"] = "no-cache"  # try Stash again next time
    else:
        response = FileResponse(open(found.path, "rb"), content_type=found.content_type)  # noqa: SIM115
        response["Cache-Control"] = "private, max-age=604800"
        response["X-Cover-Cache"] = "hit" if found.cached else "miss"
    # An SVG from Stash must never run as a page of this origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


NO_COVER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    '<rect width="320" height="180" fill="#888" fill-opacity="0.25"/>'
    '<text x="160" y="96" font-family="sans-serif" font-size="16" fill="#888" text-anchor="middle">No cover</text>'
    "</svg>"
)


@login_required
def scene_detail(request, pk):
    markers = SceneMarker.objects.select_related("primary_tag").prefetch_related("tags")
    scene = get_object_or_404(
        Scene.objects.select_related("studio__parent").prefetch_related(
            "files", "performers", "tags", Prefetch("markers", queryset=markers)
        ),
        pk=pk,
    )
    return render(request, "stash/scenes/detail.html", {"scene": scene})


def render_scene_list(request, *, selected=(), status: int = 200):
    filters = SceneFilters.from_params(request.GET)
    page = Paginator(scene_page_queryset(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    values = filters.values()
    entities = filters.entities
    context = {
        "page": page,
        "q": filters.q,
        "filtering": filters.active,
        "flag_fields": [(name, label, values[name]) for name, label in FLAG_LABELS.items()],
        "entity_fields": [(key, label, values[key]) for key, label in ENTITY_LABELS.items()],
        # What a typed id or name resolved to, so "tag 12" reads as the tag's name above the table.
        "entity_matches": [(ENTITY_LABELS[key], e.raw, e.matches) for key, e in entities.items()],
        "selected": {str(value).strip() for value in selected},
        "row_tags": ROW_TAGS,
    }
    return render(request, "stash/scenes/list.html", context, status=status)


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
        job = job_queue.submit(job_type, parameters, requested_by=request.user.get_username())
    except job_queue.JobRequestError as exc:
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
