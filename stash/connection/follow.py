"""Follow a job in Stash's own queue (a scan or a generate) until it ends, and stop it on request:
live through Stash's job events (stash.connection.subscription), polling `findJob` when they fail.

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
from stash.connection.subscription import DOWN, OPEN, JobEvents

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
    # While Stash's job events arrive (stash.connection.subscription): how often the job is still read,
    # a safety net only; the events say everything sooner.
    live_poll_seconds: float = 30.0
    # Follow Stash's job events at all (False: poll only, as before the subscription existed).
    events: bool = True
    # The first wait before reopening a subscription that dropped or was refused (then it backs off).
    reconnect_seconds: float = 1.0
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
    """Follow the job until it ends. Returns the final job (FINISHED); raises otherwise, and
    StashJobLost as soon as the id is unknown or names a job other than `identity` (from `identify`).

    Stash's job events (jobsSubscribe) bring each change as it happens; `findJob` is read at the start,
    after every (re)connect of the subscription (events are lost while it is down, and Stash sends no
    state on subscribe), every `poll_seconds` while the subscription is down or refused, and every
    `live_poll_seconds` while it is up.

    `should_stop()` is asked between reads and events: once it says yes, stopJob is sent (once) and we
    keep following until Stash reports the job over, so "cancelled" always means Stash stopped working,
    and a stop never reaches someone else's job that reuses the id."""
    settings = settings or Follow()
    follower = _Follower(client, str(stash_job_id), identity, label, on_progress, should_stop, settings)
    if not settings.events:
        return follower.run()
    with JobEvents(client, retry_first=settings.reconnect_seconds) as events:
        follower.events = events
        return follower.run()


class _Follower:
    def __init__(self, client, stash_job_id, identity, label, on_progress, should_stop, settings: Follow):
        self.client = client
        self.stash_job_id = stash_job_id
        self.identity = identity
        self.label = label
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.settings = settings
        self.events: JobEvents | None = None
        self.stop_sent_at = None
        self.unreachable_since = None
        self.last_reported = None

    def run(self) -> dict:
        job = self.read()
        while True:
            outcome = self.seen(job)
            if outcome is not None:
                return outcome
            if self.stop_sent_at is None and job.get("status") != "UNKNOWN" and self.should_stop():
                self.client.stop_job(self.stash_job_id)
                self.stop_sent_at = time.monotonic()
                self.on_progress(None, f"{self.label}: stopping Stash job {self.stash_job_id}")
                job = self.read()  # at once: a READY job is CANCELLED already
                continue
            if (
                self.stop_sent_at is not None
                and time.monotonic() - self.stop_sent_at > self.settings.stop_timeout_seconds
            ):
                raise StashError(
                    f"Stash job {self.stash_job_id} did not stop within "
                    f"{self.settings.stop_timeout_seconds:.0f} s of stopJob"
                )
            job = self.next(job)

    def read(self) -> dict:
        """What findJob says of the job now ({"status": "UNKNOWN"} while Stash is unreachable)."""
        try:
            job = self.client.find_job(self.stash_job_id)
            self.unreachable_since = None
        except StashUnreachable:
            self.unreachable_since = self.unreachable_since or time.monotonic()
            if time.monotonic() - self.unreachable_since > self.settings.unreachable_seconds:
                raise
            return {"status": "UNKNOWN"}
        if lost := changed_identity(self.stash_job_id, self.identity, job):
            raise StashJobLost(lost)
        return job

    def seen(self, job: dict) -> dict | None:
        """Report the job's state; the job when it FINISHED; raises when it ended otherwise."""
        status = job.get("status")
        if status == "FINISHED":
            self.on_progress(100.0, f"{self.label}: finished")
            return job
        if status == "FAILED":
            raise StashJobFailed(f"Stash job {self.stash_job_id} failed: {job.get('error') or 'no reason given'}")
        if status == "CANCELLED":
            raise StashJobStopped(f"Stash job {self.stash_job_id} was cancelled", by_us=self.stop_sent_at is not None)
        if status not in ("RUNNING", "STOPPING", "READY"):
            return None
        percent = max(0.0, min(100.0, float(job.get("progress") or 0) * 100))
        # Stash sends up to ten updates a second; a change smaller than 0.1 % is not worth a write.
        reported = (status, round(percent, 1))
        if reported != self.last_reported:
            self.last_reported = reported
            state = {"READY": "waiting in Stash's queue", "STOPPING": "stopping"}.get(status, "")
            detail = job.get("description") or status.lower()
            suffix = f" ({state})" if state else f" ({percent:.0f}%)"
            self.on_progress(percent, f"{self.label}: {detail}{suffix}")
        return None

    def next(self, current: dict) -> dict:
        """The job's next state: an event about it, or a read once the poll is due or the subscription
        (re)opened. Returns `current` early when a stop is requested (and can be sent: not while Stash is
        unreachable, when the next read comes at the poll)."""
        live = self.events is not None and self.events.live.is_set()
        deadline = time.monotonic() + (self.settings.live_poll_seconds if live else self.settings.poll_seconds)
        stoppable = self.stop_sent_at is None and current.get("status") != "UNKNOWN"
        while (remaining := deadline - time.monotonic()) > 0:
            if stoppable and self.should_stop():
                return current
            if self.events is None:
                time.sleep(min(WAKE_SLICE_SECONDS, remaining))
                continue
            event = self.events.get(min(WAKE_SLICE_SECONDS, remaining))
            if event is None:
                continue
            if event.kind == OPEN:
                return self.read()  # the reconciliation read
            if event.kind == DOWN:
                deadline = min(deadline, time.monotonic() + self.settings.poll_seconds)
                continue
            if str(event.job.get("id")) == self.stash_job_id:
                if lost := changed_identity(self.stash_job_id, self.identity, event.job):
                    raise StashJobLost(lost)  # a restarted Stash queued another job under our id
                return event.job
        return self.read()


# How often a wait looks at a stop request (a stop is sent promptly).
WAKE_SLICE_SECONDS = 0.25


# The statuses of a job in Stash's queue that keep Stash busy.
BUSY = ("READY", "RUNNING", "STOPPING")


def busy_queue(client) -> list[dict]:
    """The jobs in Stash's own queue that are waiting, running or stopping (empty: Stash is idle)."""
    return [job for job in client.job_queue() if job.get("status") in BUSY]


def is_scan(stash_job: dict) -> bool:
    """Whether a job of Stash's queue is a scan (its description is all Stash tells)."""
    return str(stash_job.get("description") or "").lower().startswith("scan")
