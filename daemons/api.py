"""The daemons API (DRF). Views only translate HTTP to daemons.services and back; every rule lives there.

Start/Stop/Restart set the desired state; the daemon's host applies it within about a second, so the
response shows the request recorded, and `actual_state` follows on the live feed and later reads.
"""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework import status as http
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from daemons import pause, schedule, services
from daemons.models import LEVEL_ORDER, Daemon, DaemonJobHistory, DaemonLog
from daemons.serializers import (
    ActionResultSerializer,
    BulkPauseSerializer,
    DaemonHistoryFilterSerializer,
    DaemonHistorySerializer,
    DaemonLogFilterSerializer,
    DaemonLogSerializer,
    DaemonPatchSerializer,
    DaemonPutSerializer,
    DaemonSerializer,
    PauseSerializer,
)
from orchestrator.api import DETAIL, FIELD_ERRORS, Paging

NAME = OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The daemon's name.")


def get_daemon(name: str) -> Daemon:
    daemon = Daemon.objects.filter(name=name).first()
    if daemon is None:
        raise NotFound(services.unknown_daemon_message(name) + ".")
    return daemon


def daemon_to_pause(name: str) -> Daemon:
    """The daemon a pause or resume names. An unknown name is bad input to these actions (as in the
    bulk body's `daemons` list): 400 with the known names, rather than the 404 of a missing resource."""
    daemon = Daemon.objects.filter(name=name).first()
    if daemon is None:
        raise ValidationError({"detail": services.unknown_daemon_message(name) + "."})
    return daemon


def _state(daemon: Daemon) -> dict:
    return DaemonSerializer(daemon).data


class DaemonList(generics.ListAPIView):
    queryset = Daemon.objects.order_by("name")
    serializer_class = DaemonSerializer
    pagination_class = None  # a handful of daemons, one per registered kind

    @extend_schema(summary="Every daemon's whole state")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(parameters=[NAME])
class DaemonDetail(APIView):
    @extend_schema(summary="A daemon's whole state", responses={200: DaemonSerializer, 404: DETAIL})
    def get(self, request, name):
        return Response(_state(get_daemon(name)))

    @extend_schema(
        summary="Change some settings and/or auto-start",
        request=DaemonPatchSerializer,
        responses={200: DaemonSerializer, 400: FIELD_ERRORS, 404: DETAIL},
    )
    def patch(self, request, name):
        return self._update(request, get_daemon(name), DaemonPatchSerializer, partial=True)

    @extend_schema(
        summary="Replace the whole configuration (settings left out take their defaults)",
        request=DaemonPutSerializer,
        responses={200: DaemonSerializer, 400: FIELD_ERRORS, 404: DETAIL},
    )
    def put(self, request, name):
        return self._update(request, get_daemon(name), DaemonPutSerializer, partial=False)

    def _update(self, request, daemon, serializer_class, *, partial):
        incoming = serializer_class(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if "configuration" in data and services.schema_for(daemon) is None:
            raise ValidationError({"configuration": [f"Daemon kind {daemon.kind!r} is not installed."]})
        # One transaction, configuration first: an invalid configuration raises before auto-start is
        # written, so a rejected request changes nothing at all.
        with transaction.atomic():
            if "configuration" in data:
                try:
                    daemon = services.update_configuration(daemon, data["configuration"], partial=partial)
                except services.ConfigError as exc:
                    raise ValidationError({"configuration": exc.errors}) from exc
            if "auto_start" in data:
                daemon = services.set_auto_start(daemon, data["auto_start"])
        return Response(_state(daemon))


@extend_schema(parameters=[NAME])
class DaemonAction(APIView):
    """POST start/, stop/ or restart/: records the desired state; the host applies it within ~1 s."""

    operation = ""
    operations = {"start": services.start, "stop": services.stop, "restart": services.restart}

    @extend_schema(request=None, responses={200: ActionResultSerializer, 404: DETAIL})
    def post(self, request, name):
        daemon = self.operations[self.operation](get_daemon(name))
        return Response({"message": f"Daemon {daemon.name} {self.operation} requested", "daemon": _state(daemon)})


def _bulk_result(name: str, count_key: str):
    return inline_serializer(
        name,
        {
            "message": serializers.CharField(),
            count_key: serializers.IntegerField(),
            "daemons": serializers.ListField(child=serializers.CharField()),
        },
    )


class _BulkAction(APIView):
    operation = None  # a daemons.services bulk function returning the names it acted on
    verb = ""
    none_message = ""

    def post(self, request):
        names = self.operation()
        message = f"Successfully {self.verb} {len(names)} daemons" if names else self.none_message
        return Response({"message": message, f"{self.verb}_count": len(names), "daemons": names})


class StartAll(_BulkAction):
    operation = staticmethod(services.start_all)
    verb = "started"
    none_message = services.NOTHING_TO_DO["start"]

    @extend_schema(
        summary="Start every stopped daemon (auto-start or not)",
        request=None,
        responses=_bulk_result("StartAllResult", "started_count"),
    )
    def post(self, request):
        return super().post(request)


class StopAll(_BulkAction):
    operation = staticmethod(services.stop_all)
    verb = "stopped"
    none_message = services.NOTHING_TO_DO["stop"]

    @extend_schema(
        summary="Stop every running daemon", request=None, responses=_bulk_result("StopAllResult", "stopped_count")
    )
    def post(self, request):
        return super().post(request)


class RestartAll(_BulkAction):
    operation = staticmethod(services.restart_all)
    verb = "restarted"
    none_message = services.NOTHING_TO_DO["restart"]

    @extend_schema(
        summary="Restart every running daemon",
        request=None,
        responses=_bulk_result("RestartAllResult", "restarted_count"),
    )
    def post(self, request):
        return super().post(request)


def _who(request) -> str:
    return request.user.get_username() if request.user and request.user.is_authenticated else ""


@extend_schema(parameters=[NAME])
class DaemonPause(APIView):
    """POST pause/ {"mode": "soft"|"hard"}: the daemon starts nothing new (hard: generation also stops
    Stash's running generate); kept across restarts until resume/."""

    @extend_schema(
        summary="Pause a daemon (soft, or hard for generation)",
        request=PauseSerializer,
        responses={200: ActionResultSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request, name):
        daemon = daemon_to_pause(name)
        incoming = PauseSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            daemon = pause.pause(daemon, incoming.validated_data["mode"], by=_who(request))
        except pause.PauseError as exc:
            raise ValidationError(exc.errors) from exc
        return Response({"message": f"Daemon {daemon.name} paused ({daemon.pause_mode})", "daemon": _state(daemon)})


@extend_schema(parameters=[NAME])
class DaemonResume(APIView):
    @extend_schema(summary="Resume a paused daemon", request=None, responses={200: ActionResultSerializer, 400: DETAIL})
    def post(self, request, name):
        daemon = pause.resume(daemon_to_pause(name), by=_who(request))
        return Response({"message": f"Daemon {daemon.name} resumed", "daemon": _state(daemon)})


@extend_schema(parameters=[NAME])
class DaemonRunNow(APIView):
    """POST run-now/: wakes the daemon at once, skipping the rest of its wait (the host acts within
    DAEMON_CONTROL_POLL_SECONDS, sooner through a wake-up)."""

    @extend_schema(
        summary="Run a daemon's next cycle now",
        request=None,
        responses={200: ActionResultSerializer, 404: DETAIL, 409: DETAIL},
    )
    def post(self, request, name):
        try:
            daemon = schedule.request_run_now(get_daemon(name))
        except schedule.NotRunnable as exc:
            return Response({"detail": str(exc)}, status=http.HTTP_409_CONFLICT)
        return Response({"message": f"Daemon {daemon.name} runs now", "daemon": _state(daemon)})


def _bulk_pause(request, operation, verb: str):
    incoming = BulkPauseSerializer(data=request.data)
    incoming.is_valid(raise_exception=True)
    try:
        names = operation(by=_who(request), names=incoming.validated_data.get("daemons"))
    except pause.PauseError as exc:
        raise ValidationError(exc.errors) from exc
    message = f"Successfully {verb} {len(names)} daemons" if names else f"No daemons to {verb[:-1]}: none changed."
    return Response({"message": message, f"{verb}_count": len(names), "daemons": names})


class PauseAll(APIView):
    @extend_schema(
        summary="Soft-pause every daemon (or those named)",
        request=BulkPauseSerializer,
        responses={200: _bulk_result("PauseAllResult", "paused_count"), 400: FIELD_ERRORS},
    )
    def post(self, request):
        return _bulk_pause(request, pause.pause_all, "paused")


class ResumeAll(APIView):
    @extend_schema(
        summary="Resume every paused daemon (or those named)",
        request=BulkPauseSerializer,
        responses={200: _bulk_result("ResumeAllResult", "resumed_count"), 400: FIELD_ERRORS},
    )
    def post(self, request):
        return _bulk_pause(request, pause.resume_all, "resumed")


def _since(queryset, filters: dict):
    return queryset.filter(created_at__gte=filters["since"]) if "since" in filters else queryset


class DaemonLogs(generics.ListAPIView):
    serializer_class = DaemonLogSerializer
    pagination_class = Paging

    def get_queryset(self):
        daemon = get_daemon(self.kwargs["name"])
        filters = DaemonLogFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        logs = DaemonLog.objects.filter(daemon=daemon).select_related("daemon").order_by("-created_at", "-id")
        if "level" in wanted:
            floor = LEVEL_ORDER[wanted["level"]]
            logs = logs.filter(level__in=[level for level, rank in LEVEL_ORDER.items() if rank >= floor])
        return _since(logs, wanted)

    @extend_schema(
        summary="A daemon's log lines, newest first",
        parameters=[NAME, DaemonLogFilterSerializer],
        responses={200: DaemonLogSerializer(many=True), 400: FIELD_ERRORS, 404: DETAIL},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DaemonHistory(generics.ListAPIView):
    serializer_class = DaemonHistorySerializer
    pagination_class = Paging

    def get_queryset(self):
        daemon = get_daemon(self.kwargs["name"])
        filters = DaemonHistoryFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        history = DaemonJobHistory.objects.filter(daemon=daemon).select_related("daemon")
        return _since(history.order_by("-created_at", "-id"), filters.validated_data)

    @extend_schema(
        summary="What a daemon did with jobs (launched, cancelled, finished, failed), newest first",
        parameters=[NAME, DaemonHistoryFilterSerializer],
        responses={200: DaemonHistorySerializer(many=True), 400: FIELD_ERRORS, 404: DETAIL},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
