"""The health API: every check's stored result, one check, and "check now" (run by the health loop)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from health import status
from health.checks import get_check
from health.loop import request as request_check


def _row(name: str) -> status.Row:
    if get_check(name) is None:
        raise NotFound(f"No health check named {name!r}.")
    return next(r for r in status.rows() if r.name == name)


class HealthList(APIView):
    @extend_schema(operation_id="health_list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        rows = status.rows()
        return Response(
            {
                "state": _overall(rows),
                "loop_stale": status.loop_is_stale(),
                "checks": [status.to_state(r) for r in rows],
            }
        )


class HealthDetail(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, name: str):
        return Response(status.to_state(_row(name)))


class HealthCheckNow(APIView):
    """202: the health loop (`runhealth`) runs the check within a second or so; poll the check's GET
    until `requested_at` is null again. (The page's button runs it inline, on an async view.)"""

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, name: str):
        _row(name)
        request_check(name)
        return Response(status.to_state(_row(name)), status=http.HTTP_202_ACCEPTED)


def _overall(rows) -> str:
    states = {r.stored.state for r in rows}
    for state in ("error", "warning"):
        if state in states:
            return state
    return "ok"
