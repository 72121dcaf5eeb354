"""Scene pages: the mirrored library with filters and one scene's detail.

The page's job buttons post to jobs.scene_actions (jobs depend on stash, not the reverse)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from stash.models import Scene, SceneMarker
from stash.scene_filters import SceneFilters, scene_page_queryset

PAGE_SIZE = 50
# Chips shown per row before "+N more"; the detail page lists them all.
ROW_TAGS = 6
FLAG_LABELS = {
    "generated": "Generated",
    "video_analyzed": "Video analyzed",
    "analyzed": "Analyzed",
    "organized": "Organized",
}
ENTITY_LABELS = {"tag": "Tag", "performer": "Performer", "studio": "Studio"}


@login_required
def scene_list(request):
    return render_scene_list(request)


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
