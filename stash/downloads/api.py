"""The downloads API (DRF): the files download processing took in (or refused), what each job did with
each torrent (read-only: processing is started with the `process_downloads` job, POST /api/jobs/), and
the qBittorrent settings (GET/PATCH, through the Settings page's form and its rules)."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api import DETAIL, FIELD_ERRORS, Paging
from stash.downloads.forms import QBittorrentSettingsForm
from stash.downloads.models import FileStatus, HandledDownload, QBittorrentSettings, TorrentOutcome


class TorrentOutcomeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TorrentOutcome
        fields = [
            "job_id",
            "outcome",
            "reason",
            "tagged",
            "files_placed",
            "files_existing",
            "files_skipped",
            "files_failed",
            "created_at",
        ]


class DownloadSerializer(serializers.ModelSerializer):
    job_url = serializers.CharField(read_only=True, help_text="The process_downloads job that last wrote the row.")

    class Meta:
        model = HandledDownload
        fields = [
            "id",
            "torrent_hash",
            "torrent_name",
            "relative_path",
            "source_path",
            "destination_path",
            "status",
            "method",
            "size",
            "error",
            "job_id",
            "job_url",
            "scan_job_id",
            "created_at",
            "updated_at",
        ]


class DownloadDetailSerializer(DownloadSerializer):
    torrent_outcomes = serializers.SerializerMethodField(help_text="What each job did with this file's torrent.")

    class Meta(DownloadSerializer.Meta):
        fields = [*DownloadSerializer.Meta.fields, "torrent_outcomes"]

    @extend_schema_field(TorrentOutcomeSerializer(many=True))
    def get_torrent_outcomes(self, row) -> list:
        outcomes = TorrentOutcome.objects.filter(torrent_hash=row.torrent_hash).order_by("-created_at", "-id")
        return TorrentOutcomeSerializer(outcomes[:50], many=True).data


def _uuid(params, name: str):
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: ["Must be a job id (a UUID)."]}) from None


class DownloadList(generics.ListAPIView):
    serializer_class = DownloadSerializer
    pagination_class = Paging

    @extend_schema(
        summary="Files of finished torrents, latest first",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=FileStatus.values),
            OpenApiParameter("torrent_hash", OpenApiTypes.STR, description="One torrent's files."),
            OpenApiParameter("job_id", OpenApiTypes.UUID, description="The files one process_downloads job wrote."),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        rows = HandledDownload.objects.order_by("-updated_at", "-id")
        status = params.get("status")
        if status is not None:
            if status not in FileStatus.values:
                raise ValidationError({"status": [f"Unknown status; use one of: {', '.join(FileStatus.values)}."]})
            rows = rows.filter(status=status)
        if params.get("torrent_hash") is not None:
            rows = rows.filter(torrent_hash=params["torrent_hash"].lower())
        job_id = _uuid(params, "job_id")
        if job_id is not None:
            rows = rows.filter(job_id=job_id)
        return rows


class DownloadDetail(generics.RetrieveAPIView):
    serializer_class = DownloadDetailSerializer

    @extend_schema(
        summary="One file, with its torrent's outcomes", responses={200: DownloadDetailSerializer, 404: DETAIL}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        raw = self.kwargs["pk"]
        row = (
            HandledDownload.objects.filter(pk=int(raw)).first()
            if raw.isascii() and raw.isdigit() and len(raw) <= 18
            else None
        )
        if row is None:
            raise NotFound("No such download file.")
        return row


# --- the qBittorrent settings -----------------------------------------------------------------------------

TEXT_FIELDS = (
    "host",
    "username",
    "category",
    "handled_tag",
    "failed_tag",
    "library_path",
    "library_stash_path",
    "link_mode",
)
NUMBER_FIELDS = ("port", "min_video_seconds")
PASSWORD_HELP = "Write-only. A string replaces the stored password; null removes it; absent keeps it."


class QBittorrentSettingsSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, allow_null=True, allow_blank=False, help_text=PASSWORD_HELP
    )
    password_set = serializers.SerializerMethodField()
    reset_login_failures = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="qBittorrent's own failed-login count is back to zero (it was restarted): try logging in again.",
    )
    warning = serializers.SerializerMethodField(help_text="Saved, but something could not be checked.")

    class Meta:
        model = QBittorrentSettings
        fields = [
            *TEXT_FIELDS[:2],
            "port",
            "password",
            "password_set",
            *TEXT_FIELDS[2:],
            "min_video_seconds",
            "reset_login_failures",
            "updated_at",
            "warning",
        ]
        read_only_fields = ["updated_at"]

    def get_password_set(self, row) -> bool:
        return bool(row.password)

    def get_warning(self, row) -> str:
        return self.context.get("warning", "")


def _strict_types(body) -> dict:
    """The form would turn 8080 into "8080" and back; the API takes each value in its own JSON type."""
    if not isinstance(body, dict):
        raise ValidationError({"detail": "Send a JSON object of the fields to change."})
    known = {*TEXT_FIELDS, *NUMBER_FIELDS, "password", "reset_login_failures"}
    errors = {key: ["Unknown field."] for key in body if key not in known}
    for key, value in body.items():
        if key in TEXT_FIELDS and not isinstance(value, str):
            errors[key] = ["Must be a string."]
        elif key in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            errors[key] = ["Must be an integer."]
        elif key == "password" and value is not None and not (isinstance(value, str) and value):
            errors[key] = ["Must be a non-empty string, or null to remove the stored password."]
        elif key == "reset_login_failures" and not isinstance(value, bool):
            errors[key] = ["Must be true or false."]
    if errors:
        raise ValidationError(errors)
    return body


class QBittorrentSettingsView(APIView):
    """The same rules as the Settings page (its form): a changed host, port, username or password is saved
    only if qBittorrent accepts the login (saved with a warning when qBittorrent does not answer)."""

    @extend_schema(
        summary="qBittorrent settings (the password is never returned)", responses=QBittorrentSettingsSerializer
    )
    def get(self, request):
        return Response(QBittorrentSettingsSerializer(QBittorrentSettings.load()).data)

    @extend_schema(
        summary="Change some qBittorrent settings",
        request=QBittorrentSettingsSerializer,
        responses={200: QBittorrentSettingsSerializer, 400: FIELD_ERRORS},
    )
    def patch(self, request):
        body = _strict_types(request.data)
        row = QBittorrentSettings.load()
        data = {name: getattr(row, name) for name in (*TEXT_FIELDS, *NUMBER_FIELDS)}
        data.update({k: v for k, v in body.items() if k in data})
        data["password"] = body.get("password") or ""
        data["clear_password"] = "password" in body and body["password"] is None
        data["reset_login_failures"] = bool(body.get("reset_login_failures"))
        form = QBittorrentSettingsForm(data=data, instance=row)
        if not form.is_valid():
            raise ValidationError({key: list(messages) for key, messages in form.errors.items()})
        saved = form.save()
        return Response(QBittorrentSettingsSerializer(saved, context={"warning": form.warning}).data)
