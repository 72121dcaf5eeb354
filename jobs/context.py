"""What a job handler sees of the job system: progress reporting and cooperative cancellation."""

import threading
import time

from jobs.models import EXECUTING_STATUSES, Job, JobStatus

CANCEL_CHECK_INTERVAL = 0.25


class JobCancelled(Exception):
    """Raised inside a handler when the job has been asked to stop; the runner records it cancelled."""


class JobContext:
    def __init__(self, job: Job, shutdown: threading.Event | None = None):
        self.job = job
        self._shutdown = shutdown or threading.Event()
        self._last_check = 0.0
        self._cancel_requested = False

    @property
    def job_id(self):
        return self.job.pk

    def progress(self, percent=None, message=None, *, processed=None, total=None):
        """Record progress (0-100), a message and item counts; pushed live to every open page."""
        fields = []
        if percent is not None:
            self.job.progress = max(0.0, min(100.0, float(percent)))
            fields.append("progress")
        if message is not None:
            self.job.message = str(message)[:500]
            fields.append("message")
        if processed is not None:
            self.job.processed_items = processed
            fields.append("processed_items")
        if total is not None:
            self.job.total_items = total
            fields.append("total_items")
        if not fields:
            return
        # So that the pushed state says "cancelling" once a cancel was requested.
        self._refresh_status_if_due()
        self.job.save(update_fields=[*fields, "updated_at"])

    def set_external_id(self, external_id: str, identity: dict | None = None):
        """Record the external task the job drives, and what identifies it beyond its id."""
        self.job.external_id = str(external_id)
        self.job.external_identity = identity or {}
        self.job.save(update_fields=["external_id", "external_identity", "updated_at"])

    @property
    def cancel_requested(self) -> bool:
        if self._shutdown.is_set() or self._cancel_requested:
            return True
        self._refresh_status_if_due()
        return self._cancel_requested

    def check_cancelled(self):
        """Raise JobCancelled if the job should stop now. Call it between units of work."""
        if self.cancel_requested:
            raise JobCancelled(self.cancel_reason)

    @property
    def cancel_reason(self) -> str:
        if self._shutdown.is_set() and not self._cancel_requested:
            return "Interrupted: the worker was shut down"
        return "Cancelled by request"

    def sleep(self, seconds: float):
        """Sleep, waking early (and raising JobCancelled) when cancellation is requested."""
        deadline = time.monotonic() + seconds
        while True:
            self.check_cancelled()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._shutdown.wait(min(remaining, CANCEL_CHECK_INTERVAL))

    def _refresh_status_if_due(self):
        """Re-read the job's status, at most every CANCEL_CHECK_INTERVAL seconds."""
        if time.monotonic() - self._last_check >= CANCEL_CHECK_INTERVAL:
            self._refresh_status()

    def _refresh_status(self):
        self._last_check = time.monotonic()
        row = Job.objects.filter(pk=self.job.pk).values("status", "cancel_requested_at").first()
        if row is None or row["status"] not in EXECUTING_STATUSES:
            # Recovered by another worker or deleted: stop working on it.
            self._cancel_requested = True
            return
        self.job.status = row["status"]
        self.job.cancel_requested_at = row["cancel_requested_at"]
        if row["status"] == JobStatus.CANCELLING:
            self._cancel_requested = True
