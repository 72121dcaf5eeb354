import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.types import get_kind
from orchestrator.durations import human_duration
from orchestrator.paths import job_path


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    CANCELLING = "cancelling", "Cancelling"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.CANCELLING)
TERMINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
# Statuses in which a worker is executing the handler.
EXECUTING_STATUSES = (JobStatus.RUNNING, JobStatus.CANCELLING)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A key of jobs.types.REGISTRY (no choices: a new type needs no migration).
    type = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.FloatField(default=0)
    processed_items = models.PositiveIntegerField(default=0)
    total_items = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # A failed handler's traceback, for admins (the admin's job page): it names server paths, so it is
    # kept out of `result`, which the API and every page show.
    traceback = models.TextField(blank=True, default="")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    # Name of the daemon that launched the job ("" when started by a person or the API).
    created_by = models.CharField(max_length=100, blank=True)
    # The account that asked for the job, from a page or the API ("" for daemons and sub-jobs).
    requested_by = models.CharField(max_length=150, blank=True)
    # Id of the external task the job drives (e.g. a Stash job id), so cancellation can stop it.
    external_id = models.CharField(max_length=100, blank=True)
    # What identified that task when it was started (Stash's description and add time), because Stash
    # reuses job ids after a restart: a task with our id but another identity is not ours.
    external_identity = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The claim query: oldest pending job first.
            models.Index(fields=["created_at"], name="job_pending_created", condition=Q(status="pending")),
            # Per-type running counts at claim time and stale-worker recovery scan executing jobs only.
            models.Index(
                fields=["type", "heartbeat_at"],
                name="job_executing_type",
                condition=Q(status__in=["running", "cancelling"]),
            ),
            # Jobs page history: filter by type/status, newest first.
            models.Index(fields=["status", "-created_at"], name="job_status_created"),
            models.Index(fields=["type", "-created_at"], name="job_type_created"),
            # Daemon filter on the jobs list and API.
            models.Index(fields=["created_by", "-created_at"], name="job_created_by"),
            # Retention purge of finished jobs.
            models.Index(fields=["finished_at"], name="job_finished_at"),
        ]

    def __str__(self):
        return f"{self.type_label} {str(self.id)[:8]} ({self.status})"

    def get_absolute_url(self):
        return job_path(self.pk)

    @property
    def type_label(self) -> str:
        """The type's label ("Stash metadata scan"); the type itself when it is not registered."""
        kind = get_kind(self.type)
        return kind.label if kind else self.type

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in (JobStatus.PENDING, JobStatus.RUNNING)

    @property
    def can_retry(self) -> bool:
        return self.status in (JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def items_per_second(self) -> float | None:
        """Items processed per second since the job started; None before the first item."""
        elapsed = self.duration_seconds
        if not self.processed_items or not elapsed:
            return None
        return self.processed_items / elapsed

    @property
    def rate_text(self) -> str:
        """The rate as pages say it ("3.2 items/s", "12 items/min"); "" when unknown."""
        rate = self.items_per_second
        if rate is None:
            return ""
        if rate >= 1:
            return f"{rate:.1f} items/s"
        return f"{rate * 60:.1f} items/min"

    @property
    def eta_at(self):
        """When a running job should end at its pace so far (by items when it counts them, else by
        progress); None when that is not known yet."""
        if self.status != JobStatus.RUNNING or not self.duration_seconds:
            return None
        elapsed = self.duration_seconds
        if self.total_items and self.processed_items:
            left = elapsed * (self.total_items - self.processed_items) / self.processed_items
        elif 0 < self.progress < 100:
            left = elapsed * (100 - self.progress) / self.progress
        else:
            return None
        return timezone.now() + timedelta(seconds=max(0.0, left))

    @property
    def eta_in(self) -> str:
        """How long until `eta_at`, as pages say it ("4 min"); "" when unknown."""
        eta = self.eta_at
        return human_duration((eta - timezone.now()).total_seconds()) if eta else ""

    def to_state(self) -> dict:
        """The whole current state, as pushed to live pages and returned by the API."""
        return {
            "id": str(self.id),
            "type": self.type,
            "type_label": self.type_label,
            "status": self.status,
            "progress": round(self.progress, 1),
            "processed_items": self.processed_items,
            "total_items": self.total_items,
            "message": self.message,
            "parameters": self.parameters,
            "result": self.result,
            "error": self.error,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "retry_of_id": str(self.retry_of_id) if self.retry_of_id else None,
            "created_by": self.created_by,
            "requested_by": self.requested_by,
            "external_id": self.external_id,
            "worker": self.worker,
            "heartbeat_at": _iso(self.heartbeat_at),
            "cancel_requested_at": _iso(self.cancel_requested_at),
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "updated_at": _iso(self.updated_at),
            "url": self.get_absolute_url(),
        }


def _iso(value):
    return value.isoformat() if value else None


class JobHourStats(models.Model):
    """What the jobs of one type did in one closed hour (UTC), for the Activity page (jobs/activity.py).

    An hour is rolled up once it is over: every timestamp of a job (created, started, finished) is "now"
    when written, so nothing lands in a closed hour afterwards, and the numbers stay right when retention
    later deletes the jobs themselves."""

    hour = models.DateTimeField()
    type = models.CharField(max_length=50)
    came = models.PositiveIntegerField(default=0)  # created (joined the queue)
    went = models.PositiveIntegerField(default=0)  # started, or ended without starting (left the queue)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    ran = models.PositiveIntegerField(default=0)  # finished jobs that had started: the durations' count
    total_seconds = models.FloatField(default=0)
    longest_seconds = models.FloatField(null=True, blank=True)
    # What completed jobs did to the library, from their results (jobs/activity.py LIBRARY_METRICS).
    scenes_synced = models.PositiveIntegerField(default=0)
    scenes_generated = models.PositiveIntegerField(default=0)
    scenes_analyzed = models.PositiveIntegerField(default=0)
    plan_changes_applied = models.PositiveIntegerField(default=0)
    downloads_imported = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "type"], name="job_hour_stats_hour_type")]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00} {self.type}"


class JobStatsHour(models.Model):
    """An hour whose JobHourStats rows are written (an hour without jobs has none, but is done too)."""

    hour = models.DateTimeField(unique=True)

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00}"


class WorkerHeartbeat(models.Model):
    """A running job worker (`runjobs`), beating every JOB_HEARTBEAT_SECONDS whether or not it runs jobs,
    so that the health page can tell "no worker is running" from "the workers are idle". A worker
    removes its row when it stops; a row whose beats stopped is a worker that died."""

    name = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    concurrency = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
