"""The jobs API (DRF). Views only translate HTTP to jobs.services and back; every rule lives there."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import services
from jobs.models import Job
from jobs.serializers import JobCreateSerializer, JobFilterSerializer, JobSerializer
from orchestrator.api import DETAIL, FIELD_ERRORS, Conflict, Paging

JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The job's id.")


def get_job(job_id) -> Job:
    """The job with this id; a malformed id is as unknown as a missing one (404, never 500)."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("Job not found.") from None
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        raise NotFound("Job not found.")
    return job


def _call(action, *args, **kwargs):
    """Run a jobs.services call, turning its errors into 400 (bad input) or 409 (wrong state)."""
    try:
        return action(*args, **kwargs)
    except services.JobStateError as exc:
        raise Conflict(exc.message) from exc
    except services.JobError as exc:
        raise ValidationError(exc.errors or {"detail": exc.message}) from exc


class JobList(generics.ListAPIView):
    serializer_class = JobSerializer
    pagination_class = Paging

    def get_queryset(self):
        filters = JobFilterSerializer.from_query(self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        jobs = Job.objects.order_by("-created_at", "-id")
        if wanted.get("type"):
            jobs = jobs.filter(type__in=wanted["type"])
        if wanted.get("status"):
            jobs = jobs.filter(status__in=wanted["status"])
        if wanted.get("daemon"):
            jobs = jobs.filter(created_by=wanted["daemon"])
        return jobs

    @extend_schema(
        summary="List jobs, newest first",
        parameters=[JobFilterSerializer],
        responses={200: JobSerializer(many=True), 400: FIELD_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a job; a worker runs it",
        request=JobCreateSerializer,
        responses={201: JobSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request):
        incoming = JobCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        job = _call(services.create_job, data["type"], data.get("parameters"), requested_by=request.user.get_username())
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[JOB_ID])
class JobDetail(APIView):
    @extend_schema(summary="A job's whole state", responses={200: JobSerializer, 404: DETAIL})
    def get(self, request, job_id):
        return Response(JobSerializer(get_job(job_id)).data)


@extend_schema(parameters=[JOB_ID])
class JobCancel(APIView):
    @extend_schema(
        summary="Cancel a job (pending: at once; running: cooperatively, via cancelling)",
        request=None,
        responses={200: JobSerializer, 404: DETAIL, 409: DETAIL},
    )
    def post(self, request, job_id):
        job = _call(services.cancel_job, get_job(job_id))
        return Response(JobSerializer(job).data)


@extend_schema(parameters=[JOB_ID])
class JobRetry(APIView):
    @extend_schema(
        summary="Retry a failed or cancelled job as a new job with the original parameters",
        request=None,
        responses={201: JobSerializer, 400: FIELD_ERRORS, 404: DETAIL, 409: DETAIL},
    )
    def post(self, request, job_id):
        job = _call(services.retry_job, get_job(job_id), requested_by=request.user.get_username())
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
