"""The Stash settings API (DRF): read and change the settings row, and test a connection.

The same rules as the Settings page apply (StashSettings.clean, then config.connection_problem): a new
URL or key is saved only when Stash answers. `api_key` is write-only; answers say whether a key is
stored and show its mask. Fields the environment decides cannot be changed here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api import (
    DETAIL,
    FIELD_ERRORS,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictModelSerializer,
    change_settings_row,
)
from stash.connection import config, validation
from stash.connection.errors import StashError
from stash.connection.models import StashSettings

KEY_HELP = "Write-only. A new key replaces the stored one; an empty string or null removes it."


class EffectiveConnectionSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The URL every client uses (empty: not configured).")
    url_source = serializers.ChoiceField(["environment", "database", "demo", ""])
    api_key_source = serializers.ChoiceField(["environment", "database", "demo", ""])
    demo_mode = serializers.BooleanField()


class StashSettingsSerializer(StrictModelSerializer):
    url = StrictCharField(required=False, allow_blank=True, max_length=500)
    api_key = StrictCharField(
        write_only=True, required=False, allow_blank=True, allow_null=True, max_length=1000, help_text=KEY_HELP
    )
    api_key_set = serializers.SerializerMethodField()
    api_key_hint = serializers.SerializerMethodField()
    path_mappings = serializers.ListField(
        child=serializers.DictField(child=StrictCharField()),
        required=False,
        help_text='[{"local": "/srv/library", "stash": "/data"}]: local directories and the same ones in Stash.',
    )
    scan_paths = serializers.ListField(
        child=StrictCharField(), required=False, help_text="Local directories a scan covers by default."
    )
    effective = serializers.SerializerMethodField()

    class Meta:
        model = StashSettings
        fields = [
            "url",
            "api_key",
            "api_key_set",
            "api_key_hint",
            "path_mappings",
            "scan_paths",
            "connect_timeout",
            "read_timeout",
            "preview_preset",
            "updated_at",
            "effective",
        ]
        read_only_fields = ["updated_at"]

    def get_api_key_set(self, row) -> bool:
        return bool(row.api_key)

    def get_api_key_hint(self, row) -> str:
        return config.mask_key(row.api_key)

    @extend_schema(responses=EffectiveConnectionSerializer)
    def get_effective(self, row) -> dict:
        connection = config.effective_connection(row)
        return {
            "url": connection.url,
            "url_source": connection.url_source,
            "api_key_source": connection.api_key_source,
            "demo_mode": connection.is_demo,
        }


class ConnectionTestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    url = StrictCharField(required=False, allow_blank=True, help_text="Default: the saved URL.")
    api_key = StrictCharField(required=False, allow_blank=True, allow_null=True, help_text="Default: the saved key.")


TEST_RESULT = inline_serializer(
    "StashConnectionTest",
    {
        "ok": serializers.BooleanField(),
        "url": serializers.CharField(),
        "version": serializers.CharField(allow_null=True),
        "hash": serializers.CharField(),
        "build_time": serializers.CharField(),
    },
)
TEST_FAILURE = inline_serializer(
    "StashConnectionTestFailure",
    {"ok": serializers.BooleanField(), "url": serializers.CharField(), "detail": serializers.CharField()},
)


class StashSettingsView(APIView):
    @extend_schema(summary="The Stash settings (the API key is never returned)", responses=StashSettingsSerializer)
    def get(self, request):
        return Response(StashSettingsSerializer(StashSettings.load()).data)

    @extend_schema(
        summary="Change some Stash settings; a new URL or key is saved only if Stash answers",
        request=StashSettingsSerializer,
        responses={200: StashSettingsSerializer, 400: FIELD_ERRORS},
    )
    def patch(self, request):
        row = StashSettings.load()
        before = config.effective_connection(row)
        incoming = StashSettingsSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        if "api_key" in changes:
            changes["api_key"] = (changes["api_key"] or "").strip()
        change_settings_row(row, changes, config.env_overrides())
        refusal = config.key_must_be_typed(
            config.effective_connection(row), before, typed="api_key" in changes, action="save"
        )
        if refusal:
            raise ValidationError({"api_key": [refusal]})
        problem = config.connection_problem(row, before)
        if problem:
            field, message = problem
            raise ValidationError({field or "non_field_errors": [message]})
        row.save()
        return Response(StashSettingsSerializer(row).data)


class StashConnectionTest(APIView):
    @extend_schema(
        summary="Ask Stash for its version, with the saved or the given URL and key, without saving",
        request=ConnectionTestSerializer,
        responses={200: TEST_RESULT, 400: DETAIL, 502: TEST_FAILURE},
    )
    def post(self, request):
        incoming = ConnectionTestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        row = StashSettings.load()
        before = config.effective_connection(row)
        if data.get("url"):
            try:
                row.url = validation.clean_url(data["url"])
            except DjangoValidationError as exc:
                raise ValidationError({"url": exc.messages}) from None
        if "api_key" in data:
            row.api_key = (data["api_key"] or "").strip()
        connection = config.effective_connection(row)
        if not connection.url:
            return Response({"detail": "No Stash URL to test: give one, save one, or set STASH_URL."}, status=400)
        refusal = config.key_must_be_typed(connection, before, typed="api_key" in data, action="test")
        if refusal:
            return Response({"api_key": [refusal]}, status=400)
        try:
            version = config.check_connection(connection)
        except StashError as exc:
            return Response({"ok": False, "url": connection.url, "detail": str(exc)}, status=502)
        return Response({"ok": True, "url": connection.url, **version})
