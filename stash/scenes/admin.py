"""Admin for the Stash mirror: browse and search it; edit only the local workflow flags.

Mirror rows come from Stash through sync, which would overwrite any hand edit on its next run, so every
mirrored field is read-only and nothing can be added here. The three flags are ours: an admin may reset one
(on the form or with the changelist actions) to make the daemon that owns it look at the scene again.
Relations render as read-only text, never as a select of every tag (a library has thousands).
"""

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, SyncCursor, Tag

FLAGS = ["generated", "video_analyzed", "analyzed"]


def _field_names(model) -> list[str]:
    return [f.name for f in model._meta.get_fields() if f.concrete or (f.many_to_many and not f.auto_created)]


class MirrorAdmin(admin.ModelAdmin):
    """Rows written by sync: viewable, searchable, deletable (a full sync removes or restores them)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SceneFileInline(ReadOnlyInline):
    model = SceneFile
    fields = ["position", "path", "human_size", "duration", "resolution", "video_codec", "audio_codec", "fingerprints"]
    readonly_fields = fields

    @admin.display(description="Size")
    def human_size(self, file):
        return filesizeformat(file.size) if file.size is not None else "—"


class SceneMarkerInline(ReadOnlyInline):
    model = SceneMarker
    fields = ["seconds", "end_seconds", "title", "primary_tag", "tags"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("primary_tag").prefetch_related("tags")


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "studio", "organized", *FLAGS, "stash_updated_at"]
    list_display_links = ["id", "title"]
    list_filter = [*FLAGS, "organized"]
    list_select_related = ["studio"]
    search_fields = ["title", "files__path"]
    search_help_text = "Title or file path (a number also finds the scene with that id)."
    inlines = [SceneFileInline, SceneMarkerInline]
    actions = [f"reset_{flag}" for flag in FLAGS]
    fieldsets = [
        (None, {"fields": ["id", "title", "code", "date", "director", "rating100", "organized", "studio"]}),
        ("People and tags", {"fields": ["performers", "tags"]}),
        ("Text and links", {"fields": ["details", "urls", "screenshot_url"]}),
        ("Workflow flags (local)", {"fields": FLAGS}),
        ("Times", {"fields": ["stash_created_at", "stash_updated_at", "synced_at"]}),
    ]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [name for name in _field_names(Scene) if name not in FLAGS]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("performers", "tags")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isascii() and term.isdigit() and len(term) <= 18:
            results |= queryset.filter(pk=int(term))
        return results, may_have_duplicates

    def view_on_site(self, scene):
        return reverse("scenes:detail", args=[scene.pk])

    @admin.action(description="Reset “generated” (the generation check looks at them again)", permissions=["change"])
    def reset_generated(self, request, queryset):
        self._reset(request, queryset, "generated")

    @admin.action(description="Reset “AI-tagged” (video analysis runs on them again)", permissions=["change"])
    def reset_video_analyzed(self, request, queryset):
        self._reset(request, queryset, "video_analyzed")

    @admin.action(description="Reset “analyzed” (metadata analysis runs on them again)", permissions=["change"])
    def reset_analyzed(self, request, queryset):
        self._reset(request, queryset, "analyzed")

    def _reset(self, request, queryset, flag: str):
        # update(): nothing listens for flag changes on scenes, and a selection can be a whole filtered list.
        count = queryset.filter(**{flag: True}).update(**{flag: False})
        self.message_user(request, f"Reset “{flag}” on {count} scene(s).", messages.SUCCESS)


@admin.register(SceneFile)
class SceneFileAdmin(MirrorAdmin):
    list_display = ["id", "path", "scene", "human_size", "duration", "resolution", "video_codec"]
    list_select_related = ["scene"]
    search_fields = ["path"]

    @admin.display(description="Size", ordering="size")
    def human_size(self, file):
        return filesizeformat(file.size) if file.size is not None else "—"


@admin.register(SceneMarker)
class SceneMarkerAdmin(MirrorAdmin):
    list_display = ["id", "scene", "seconds", "end_seconds", "title", "primary_tag"]
    list_select_related = ["scene", "primary_tag"]
    search_fields = ["title", "primary_tag__name"]


@admin.register(Tag)
class TagAdmin(MirrorAdmin):
    list_display = ["id", "name", "parent_names", "favorite", "ignore_auto_tag", "stash_updated_at"]
    list_filter = ["favorite", "ignore_auto_tag"]
    search_fields = ["name"]
    readonly_fields = ["child_names"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(Prefetch("parents", queryset=Tag.objects.only("name")))

    @admin.display(description="Parents")
    def parent_names(self, tag):
        return ", ".join(parent.name for parent in tag.parents.all()) or "—"

    @admin.display(description="Children")
    def child_names(self, tag):
        return ", ".join(tag.children.values_list("name", flat=True)) or "—"


@admin.register(Performer)
class PerformerAdmin(MirrorAdmin):
    list_display = ["id", "name", "disambiguation", "gender", "country", "favorite", "stash_updated_at"]
    list_filter = ["favorite", "gender"]
    search_fields = ["name", "disambiguation"]


@admin.register(Studio)
class StudioAdmin(MirrorAdmin):
    list_display = ["id", "name", "parent", "favorite", "stash_updated_at"]
    list_filter = ["favorite"]
    list_select_related = ["parent"]
    search_fields = ["name"]


@admin.register(SyncCursor)
class SyncCursorAdmin(MirrorAdmin):
    list_display = ["name", "watermark", "last_full_sync_at", "updated_at"]
