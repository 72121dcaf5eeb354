"""What every DRF API of the project shares: error shapes for the schema, paging, 409, unknown fields, and
changing a settings row."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import LimitOffsetPagination

from orchestrator.env_fields import env_field_errors

DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
FIELD_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description='Per-field errors: {"field": ["message"]}.')


class Paging(LimitOffsetPagination):
    """?limit=&offset= paging (default PAGE_SIZE); one page never exceeds max_limit rows. A value that is
    not a count is a 400 like any other bad query value (DRF quietly falls back to the defaults)."""

    max_limit = 500

    def get_limit(self, request):
        _count(request, self.limit_query_param, minimum=1)
        return super().get_limit(request)

    def get_offset(self, request):
        _count(request, self.offset_query_param, minimum=0)
        return super().get_offset(request)


def _count(request, name: str, *, minimum: int):
    raw = request.query_params.get(name)
    if raw is None:
        return
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum:
        raise ValidationError({name: [f"Give a whole number of at least {minimum}, not {raw!r}."]})


class Conflict(APIException):
    """409: the object's state does not allow the request (a finished job, an applied change)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The current state does not allow this."
    default_code = "conflict"


class RejectUnknownFieldsMixin:
    """Refuse request keys the serializer does not declare, so a typo is an error, not a silent no-op."""

    def validate(self, attrs):
        if isinstance(self.initial_data, Mapping):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().validate(attrs)


# --- strict types: DRF's fields coerce ("11" → 11.0, 12345 → "12345", 1 → True); ours refuse ---------------


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, not {_json_type(data)}.")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError(f"Must be a number, not {_json_type(data)}.")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(f"Must be a whole number, not {_json_type(data)}.")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError(f"Must be true or false, not {_json_type(data)}.")
        return data


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


class StrictModelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer for the settings APIs: unknown keys and values of the wrong JSON type are refused
    (as the jobs and daemons APIs do through their typed schemas). Declared fields must use the Strict*
    fields above themselves."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.URLField: StrictCharField,
        models.FloatField: StrictFloatField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BooleanField: StrictBooleanField,
    }


def change_settings_row(row, changes: dict, env_overrides: dict[str, str]):
    """Apply an API's validated `changes` to a settings row and check the row (its clean()); the caller
    saves. A field the environment decides may come only with its stored value (orchestrator/env_fields).
    Raises DRF's ValidationError with per-field messages, the row then holding unsaved values only."""
    locked = env_field_errors(row, changes, env_overrides)
    if locked:
        raise ValidationError(locked)
    for name, value in changes.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None
