"""Follow a job in Stash's own queue (a scan or a generate) until it ends, and stop it on request.

Facts from Stash that shape this (../shared/stash-schema/README.md): its jobs run one at a time;
stopJob on a READY job cancels it at once, on a RUNNING one it sets STOPPING and CANCELLED follows when
the task returns; a finished job stays findable only while it is among the 10 most recent, and ids start
again from 1 when Stash restarts. So a job that `findJob` no longer returns has ended in a way we cannot
know: the caller is told so (`StashJobLost`) and must not assume it succeeded. Because ids are reused,
an id alone does not name a job: `identify` records what Stash says about the job right after it was
queued (its description and add time), and every later read is checked against that record
(`changed_identity`), so a job that now answers to our id but is someone else's is lost too.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from stash.connection.errors import StashError, StashUnreachable

FINAL = {"FINISHED", "FAILED", "CANCELLED"}


class StashJobFailed(Exception):
    """Stash reports the job FAILED; the message is Stash's error."""


class StashJobLost(Exception):
    """Stash no longer knows the job (restarted, or the job left its 10-entry history), or its id now
    names a different job (Stash restarted and reused it)."""


# What Stash fixes when it queues a job and never changes: together they tell a reused id apart.
IDENTITY_FIELDS = ("description", "addTime")


def identify(client, stash_job_id: str) -> dict:
    """What identifies the job Stash just queued under `stash_job_id` (read at once, before a restart
    could hand the id to another job). Raises StashJobLost when Stash does not know it."""
    job = client.find_job(stash_job_id)
    if job is None:
        raise StashJobLost(_gone(stash_job_id))
    return {name: job.get(name) for name in IDENTITY_FIELDS}


def changed_identity(stash_job_id: str, identity: dict, job: dict | None) -> str | None:
    """Why `job` (what Stash now returns for the id) is not the job `identity` recorded, or None when it
    is. No identity recorded (a job started before identities were kept) accepts any job."""
    if job is None:
        return _gone(stash_job_id)
    if identity and any(job.get(name) != identity.get(name) for name in IDENTITY_FIELDS):
        return (
            f"Stash restarted; its job {stash_job_id} is now a different job "
            f"({job.get('description')!r} added {job.get('addTime')}, ours was "
            f"{identity.get('description')!r} added {identity.get('addTime')}); its outcome is unknown"
        )
    return None


def _gone(stash_job_id: str) -> str:
    return (
        f"Stash job {stash_job_id} is gone from Stash (Stash restarted or the job left its history); "
        "its outcome is unknown"
    )


class StashJobStopped(Exception):
    """The job ended CANCELLED in Stash (after our stopJob, or stopped by someone in Stash)."""

    def __init__(self, message: str, by_us: bool):
        super().__init__(message)
        self.by_us = by_us


@dataclass
class Follow:
    poll_seconds: float = 2.0
    # How long Stash may stay unreachable while we follow a job before we give up on it.
    unreachable_seconds: float = 300.0
    # How long to wait for CANCELLED after sending stopJob.
    stop_timeout_seconds: float = 120.0


def follow_stash_job(
    client,
    stash_job_id: str,
    *,
    identity: dict,
    label: str,
    on_progress: Callable[[float, str], None],
    should_stop: Callable[[], bool],
    settings: Follow | None = None,
) -> dict:
    """Poll `findJob` until the job ends. Returns the final job (FINISHED); raises otherwise, and
    StashJobLost as soon as the id is unknown or names a job other than `identity` (from `identify`).

    `should_stop()` is asked after every poll that found our job: once it says yes, stopJob is sent
    (once) and we keep polling until Stash reports the job over, so "cancelled" always means Stash
    stopped working, and a stop never reaches someone else's job that reuses the id."""
    settings = settings or Follow()
    stop_sent_at = None
    unreachable_since = None
    last_progress = None
    while True:
        try:
            job = client.find_job(stash_job_id)
            unreachable_since = None
        except StashUnreachable:
            unreachable_since = unreachable_since or time.monotonic()
            if time.monotonic() - unreachable_since > settings.unreachable_seconds:
                raise
            job = {"status": "UNKNOWN"}
        else:
            if lost := changed_identity(stash_job_id, identity, job):
                raise StashJobLost(lost)
        status = job.get("status")
        if status == "FINISHED":
            on_progress(100.0, f"{label}: finished")
            return job
        if status == "FAILED":
            raise StashJobFailed(f"Stash job {stash_job_id} failed: {job.get('error') or 'no reason given'}")
        if status == "CANCELLED":
            raise StashJobStopped(f"Stash job {stash_job_id} was cancelled", by_us=stop_sent_at is not None)
        progress = job.get("progress")
        if status in ("RUNNING", "STOPPING", "READY") and progress != last_progress:
            last_progress = progress
            percent = max(0.0, min(100.0, float(progress or 0) * 100))
            state = {"READY": "waiting in Stash's queue", "STOPPING": "stopping"}.get(status, "")
            detail = job.get("description") or status.lower()
            on_progress(percent, f"{label}: {detail}" + (f" ({state})" if state else f" ({percent:.0f}%)"))
        if stop_sent_at is None and status != "UNKNOWN" and should_stop():
            client.stop_job(stash_job_id)
            stop_sent_at = time.monotonic()
            on_progress(None, f"{label}: stopping Stash job {stash_job_id}")
            continue  # read the job again at once: a READY job is CANCELLED already
        if stop_sent_at is not None and time.monotonic() - stop_sent_at > settings.stop_timeout_seconds:
            raise StashError(
                f"Stash job {stash_job_id} did not stop within {settings.stop_timeout_seconds:.0f} s of stopJob"
            )
        _wait(settings.poll_seconds, wake=should_stop if stop_sent_at is None else None)


def _wait(seconds: float, wake: Callable[[], bool] | None, slice_seconds: float = 0.25):
    """Sleep up to `seconds`, returning early when `wake()` turns true (a stop request is sent promptly)."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0 and not (wake and wake()):
        time.sleep(min(slice_seconds, remaining))


# The statuses of a job in Stash's queue that keep Stash busy.
BUSY = ("READY", "RUNNING", "STOPPING")


def busy_queue(client) -> list[dict]:
    """The jobs in Stash's own queue that are waiting, running or stopping (empty: Stash is idle)."""
    return [job for job in client.job_queue() if job.get("status") in BUSY]


def is_scan(stash_job: dict) -> bool:
    """Whether a job of Stash's queue is a scan (its description is all Stash tells)."""
    return str(stash_job.get("description") or "").lower().startswith("scan")
