"""The video analysis settings API (DRF): read and change the settings row.

The same rules as the Video analysis settings page apply (VideoAnalysisSettings.clean). PUT and PATCH
both change only the fields given. A field the environment decides cannot be changed here: sending it
with a different value is refused, sending back what GET returned is not.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api import FIELD_ERRORS, StrictCharField, StrictModelSerializer, change_settings_row
from stash.analysis import config
from stash.analysis.models import VideoAnalysisSettings

EFFECTIVE = inline_serializer(
    "EffectiveVideoAnalysisSettings",
    {
        "analyzer": serializers.ChoiceField([config.TAGGER, config.BUILTIN]),
        "description": serializers.CharField(help_text="Which analyzer runs, as the Settings page says it."),
        "tagger_url": serializers.CharField(),
        "tagger_timeout_seconds": serializers.FloatField(),
        "tagger_path_mappings": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
        "frame_interval": serializers.FloatField(),
        "max_markers": serializers.IntegerField(),
        "marker_interval_seconds": serializers.FloatField(),
        "from_environment": serializers.DictField(
            child=serializers.CharField(), help_text="Fields the environment decides: field → variable."
        ),
    },
)


class VideoAnalysisSettingsSerializer(StrictModelSerializer):
    tagger_url = StrictCharField(required=False, allow_blank=True, max_length=500)
    tagger_path_mappings = serializers.ListField(
        child=serializers.DictField(child=StrictCharField()),
        required=False,
        help_text='[{"local": "/srv/library", "tagger": "/media"}]: local directories and the same ones '
        "as the tagger sees them.",
    )
    effective = serializers.SerializerMethodField()

    class Meta:
        model = VideoAnalysisSettings
        fields = [
            "tagger_url",
            "tagger_timeout_seconds",
            "tagger_path_mappings",
            "frame_interval",
            "max_markers",
            "marker_interval_seconds",
            "updated_at",
            "effective",
        ]
        read_only_fields = ["updated_at"]

    @extend_schema_field(EFFECTIVE)
    def get_effective(self, row) -> dict:
        effective = config.effective_settings(row)
        return {
            "analyzer": effective.analyzer,
            "description": effective.describe(),
            **{name: getattr(effective, name) for name in config.ENV_VARIABLES},
            "from_environment": effective.from_env,
        }


class VideoAnalysisSettingsView(APIView):
    @extend_schema(
        summary="The video analysis settings, and the ones in effect", responses=VideoAnalysisSettingsSerializer
    )
    def get(self, request):
        return Response(VideoAnalysisSettingsSerializer(VideoAnalysisSettings.load()).data)

    @extend_schema(
        summary="Change the given video analysis settings (the others keep their values)",
        request=VideoAnalysisSettingsSerializer,
        responses={200: VideoAnalysisSettingsSerializer, 400: FIELD_ERRORS},
    )
    def put(self, request):
        return self._update(request)

    @extend_schema(
        summary="Change the given video analysis settings (the same as PUT)",
        request=VideoAnalysisSettingsSerializer,
        responses={200: VideoAnalysisSettingsSerializer, 400: FIELD_ERRORS},
    )
    def patch(self, request):
        return self._update(request)

    def _update(self, request):
        row = VideoAnalysisSettings.load()
        incoming = VideoAnalysisSettingsSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        change_settings_row(row, changes, config.env_overrides())
        row.save()
        return Response(VideoAnalysisSettingsSerializer(row).data)
