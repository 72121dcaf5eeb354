"""The downloads API (DRF): the files download processing took in (or refused), and what each job did with
each torrent. Read-only: processing is started with the `process_downloads` job (POST /api/jobs/)."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError

from orchestrator.api import DETAIL, Paging
from stash.downloads.models import FileStatus, HandledDownload, TorrentOutcome


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
