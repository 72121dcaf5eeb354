"""The scenes API (DRF): the mirrored library with the Scenes page's filters, and one scene's detail.

The page ignores a filter value it cannot read (a query string is typed by hand); the API says 400 instead,
so a script's typo is an error rather than a silently wider answer.
"""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError

from orchestrator.api import DETAIL, Paging
from stash.models import Scene, SceneFile, SceneMarker
from stash.scenes.filters import ENTITIES, FLAGS, SceneFilters, scene_page_queryset

FLAG_VALUES = ("yes", "no")
FLAG_HELP = {
    "generated": "Stash has generated every artefact we check (covers, previews, sprites, …).",
    "video_analyzed": "AI-tagged: the AI video tagger has watched the video (its proposals became a plan).",
    "analyzed": "Metadata analyzed: a text analysis (title, details, file name) has run; no daemon sets it yet.",
    "organized": "Stash's own 'organized' flag.",
}


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SceneFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = SceneFile
        fields = ["id", "path", "basename", "size", "duration", "video_codec", "audio_codec"]


class MarkerSerializer(serializers.ModelSerializer):
    primary_tag = NamedSerializer()
    tags = NamedSerializer(many=True)

    class Meta:
        model = SceneMarker
        fields = ["id", "title", "seconds", "end_seconds", "primary_tag", "tags"]


class SceneSerializer(serializers.ModelSerializer):
    studio = NamedSerializer(allow_null=True)
    performers = NamedSerializer(many=True)
    tags = NamedSerializer(many=True)
    files = SceneFileSerializer(many=True)
    page_url = serializers.SerializerMethodField(help_text="This scene's page here.")

    class Meta:
        model = Scene
        fields = [
            "id",
            "title",
            "code",
            "date",
            "rating100",
            "organized",
            "generated",
            "video_analyzed",
            "analyzed",
            "studio",
            "performers",
            "tags",
            "files",
            "stash_created_at",
            "stash_updated_at",
            "synced_at",
            "page_url",
        ]

    def get_page_url(self, scene) -> str:
        return f"/scenes/{scene.pk}/"


class SceneDetailSerializer(SceneSerializer):
    markers = MarkerSerializer(many=True)

    class Meta(SceneSerializer.Meta):
        fields = [*SceneSerializer.Meta.fields, "details", "director", "urls", "markers"]


def _filter_parameters() -> list[OpenApiParameter]:
    flags = [OpenApiParameter(name, OpenApiTypes.STR, enum=FLAG_VALUES, description=FLAG_HELP[name]) for name in FLAGS]
    entities = [
        OpenApiParameter(key, OpenApiTypes.STR, description=f"A {key} id, or its exact name (any case).")
        for key in ENTITIES
    ]
    text = OpenApiParameter("q", OpenApiTypes.STR, description="Words in the title or a file path.")
    return [text, *flags, *entities]


class SceneList(generics.ListAPIView):
    serializer_class = SceneSerializer
    pagination_class = Paging

    @extend_schema(
        summary="Mirrored scenes, newest Stash id first, with the Scenes page's filters",
        parameters=_filter_parameters(),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        bad = {
            name: [f"Use one of: {', '.join(FLAG_VALUES)}."]
            for name in FLAGS
            if name in params and params[name] not in FLAG_VALUES
        }
        if bad:
            raise ValidationError(bad)
        return scene_page_queryset(SceneFilters.from_params(params))


class SceneDetail(generics.RetrieveAPIView):
    serializer_class = SceneDetailSerializer

    @extend_schema(
        summary="One mirrored scene with its files and markers", responses={200: SceneDetailSerializer, 404: DETAIL}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        raw = self.kwargs["pk"]
        markers = SceneMarker.objects.select_related("primary_tag").prefetch_related("tags")
        scenes = Scene.objects.select_related("studio").prefetch_related(
            "files", "performers", "tags", Prefetch("markers", queryset=markers)
        )
        # <str:…> in the route, so a malformed id gets this JSON 404 rather than the HTML one.
        scene = scenes.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
        if scene is None:
            raise NotFound("No such scene in the mirror.")
        return scene
