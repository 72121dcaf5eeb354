"""What every DRF API of the project shares: error shapes for the schema, paging, 409, unknown fields."""

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import LimitOffsetPagination

DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
FIELD_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description='Per-field errors: {"field": ["message"]}.')


class Paging(LimitOffsetPagination):
    """?limit=&offset= paging (default PAGE_SIZE); one page never exceeds max_limit rows."""

    max_limit = 500


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
