"""The job queue as the features below `jobs` see it: start a job, find the one already under way.

A page button of a feature (the Scenes page's "Sync selected", a plan's Apply, "Process now") starts a
job, yet `stash` must not import `jobs` (dependencies run orchestrator ← stash ← jobs ← daemons). So the
button asks this port, and the jobs app installs the real queue behind it when Django starts
(jobs/apps.py). Jobs started here are validated by their type's schema exactly like the API's.
"""

from dataclasses import dataclass
from typing import Protocol

from orchestrator.paths import job_path


class JobRequestError(Exception):
    """A job that cannot be created; `errors` maps fields to messages (jobs.services.JobError is one)."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


@dataclass(frozen=True)
class JobRef:
    """What a caller outside `jobs` gets back: enough to name the job and link to it."""

    id: str
    type: str
    type_label: str

    def get_absolute_url(self) -> str:  # so that redirect(ref) goes to the job's page
        return job_path(self.id)


class Queue(Protocol):
    def submit(self, job_type: str, parameters: dict, created_by: str, requested_by: str) -> JobRef: ...

    def find_active(self, job_type: str, parameters: dict) -> JobRef | None: ...


_queue: Queue | None = None


def install(queue: Queue):
    global _queue
    _queue = queue


def _installed() -> Queue:
    if _queue is None:
        raise RuntimeError("No job queue installed: the jobs app must be in INSTALLED_APPS")
    return _queue


def submit(job_type: str, parameters: dict | None = None, *, created_by: str = "", requested_by: str = "") -> JobRef:
    """Validate and enqueue a job; raises JobRequestError (nothing created) on bad input. `created_by` names
    a daemon, `requested_by` the account that asked for it on a page."""
    return _installed().submit(job_type, parameters or {}, created_by, requested_by)


def find_active(job_type: str, **parameters) -> JobRef | None:
    """The oldest live job of the type (pending, or running on a worker that heartbeats) whose parameters
    include these values, or None."""
    return _installed().find_active(job_type, parameters)
