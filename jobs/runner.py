"""The job worker: claims pending jobs and runs them in N slots (threads), with heartbeats.

One unit of work (`_step`) claims a job if a slot is free and reports whether it found work; the loop
drains work and sleeps (interruptibly) only when idle. SIGTERM/SIGINT stop claiming, ask running
handlers to stop, wait a little, and record anything still running as interrupted. Bounded modes
(`runjobs --once`, `--max-jobs N`) claim only so many jobs and return once those have ended.

Faults: a lost database connection never ends the worker. The main loop logs it and tries again after
its poll, every thread reconnects before its next query (orchestrator.dbconn), a job whose handler hit
the loss fails with that reason, and the terminal write of a job is retried (it is a compare-and-set, so
writing it twice is harmless). Slots are daemon threads: after SIGTERM the worker records what it
interrupts and exits without waiting for a call in flight.
"""

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from concurrent.futures import Future
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from jobs.claim import claim_jobs
from jobs.context import JobCancelled, JobContext
from jobs.models import EXECUTING_STATUSES, Job, JobStatus, WorkerHeartbeat
from jobs.services import purge_finished_jobs, recover_stale_jobs, update_running_job
from jobs.types import get_kind
from orchestrator import dbconn, wakeups
from orchestrator.live.signals import status_changed
from orchestrator.threadpool import DaemonThreadPool

logger = logging.getLogger(__name__)

PURGE_INTERVAL = 3600.0
# Cooperative handlers notice the shutdown within CANCEL_CHECK_INTERVAL; the whole exit stays under
# runstack's 8 s SIGKILL and the 10 s an operator is promised (README, docs/faults.md).
SHUTDOWN_GRACE = 5.0
# A job's terminal write is tried this many times, this far apart, while the database is unreachable;
# after that the job is left to stale recovery (JOB_STALE_SECONDS).
FINISH_ATTEMPTS = 4
FINISH_RETRY_SECONDS = 1.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        concurrency: int = 2,
        name: str | None = None,
        poll: float | None = None,
        *,
        once: bool = False,
        max_jobs: int | None = None,
    ):
        """`once`: claim in one round only (what is pending, up to the free slots); `max_jobs`: claim at most
        that many jobs. Either way `run()` returns when every claimed job has ended."""
        self.concurrency = concurrency
        self.once = once
        # Jobs this worker may still claim (None: no bound).
        self.budget = max_jobs if max_jobs is not None else (concurrency if once else None)
        self.name = name or worker_name()
        self.poll = settings.JOB_POLL_SECONDS if poll is None else poll
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._active: dict = {}  # job id -> Future
        self._executor = DaemonThreadPool(max_workers=concurrency, name="job")
        self._last_beat = 0.0
        self._last_purge = 0.0

    def _woken(self, topic: str, key: str):
        self._wake.set()  # called on the publisher's thread: Event.set is thread-safe

    def request_stop(self, *_):
        self.stopping.set()
        self._wake.set()

    def run(self):
        logger.info("Job worker %s started with %d slots", self.name, self.concurrency)
        # Listening before the first claim: a job committed from now on ends the idle wait below at once
        # (a job that ends elsewhere may free its type's concurrency limit). The poll stays the fallback.
        wakeups.listen_in_thread((wakeups.JOB_CREATED, wakeups.JOB_ENDED), self._woken)
        first = True
        while not self.stopping.is_set():
            try:
                dbconn.drop_if_lost()
                if first:
                    self._maintenance(force=True)
                    first = False
                found = self._step()
                self._maintenance()
            except dbconn.CONNECTION_ERRORS as exc:
                # PostgreSQL restarted, failed over or ended our sessions: try again after the poll.
                dbconn.lost()
                logger.warning("Job worker %s: database connection lost (%s); retrying", self.name, exc)
                found = False
            if self._bound_reached():
                break
            if not found:
                # A wake-up announced after the step's claim query left the flag set, so this wait ends at
                # once: the race between check and wait loses nothing. Clearing after the wait (before the
                # next claim query) can only drop a wake-up for a job that query will see anyway.
                self._wake.wait(self.poll)
                self._wake.clear()
        self._shutdown()
        logger.info("Job worker %s stopped", self.name)

    def _step(self) -> bool:
        """Claim jobs for the free slots and start them. Returns whether it started any."""
        self._reap()
        free = self.concurrency - len(self._active)
        if self.budget is not None:
            free = min(free, self.budget)
        if free <= 0:
            return False
        _refresh_connection()
        jobs = claim_jobs(self.name, free)
        if self.budget is not None:
            self.budget = 0 if self.once else self.budget - len(jobs)
        for job in jobs:
            status_changed.send(sender=Job, instance=job)
            future = self._executor.submit(self._execute, job)
            self._active[job.pk] = future
            future.add_done_callback(lambda _f: self._wake.set())
        return bool(jobs)

    def _bound_reached(self) -> bool:
        """In a bounded mode: nothing more to claim and every claimed job has ended."""
        self._reap()
        return self.budget == 0 and not self._active

    def _reap(self):
        for job_id, future in list(self._active.items()):
            if future.done():
                del self._active[job_id]

    def _maintenance(self, force: bool = False):
        now = time.monotonic()
        if force or now - self._last_beat >= settings.JOB_HEARTBEAT_SECONDS:
            self._last_beat = now
            self._heartbeat()
            recover_stale_jobs()
        if force or now - self._last_purge >= PURGE_INTERVAL:
            self._last_purge = now
            purged = purge_finished_jobs()
            # Rows of workers that died without removing their own (SIGKILL, a lost machine).
            WorkerHeartbeat.objects.filter(heartbeat_at__lt=timezone.now() - timedelta(days=1)).delete()
            if purged:
                logger.info("Deleted %d finished jobs past retention", purged)

    def _heartbeat(self):
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            name=self.name,
            defaults={"heartbeat_at": now, "concurrency": self.concurrency},
            create_defaults={
                "heartbeat_at": now,
                "concurrency": self.concurrency,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        if self._active:
            Job.objects.filter(pk__in=list(self._active), worker=self.name, status__in=EXECUTING_STATUSES).update(
                heartbeat_at=timezone.now()
            )

    def _execute(self, job: Job):
        """Run one job's handler in a slot thread and record how it ended."""
        dbconn.drop_if_lost()
        try:
            kind = get_kind(job.type)
            if kind is None:
                self._finish(job, JobStatus.FAILED, error=f"No handler registered for job type {job.type!r}")
                return
            ctx = JobContext(job, shutdown=self.stopping)
            try:
                result = kind.handler(ctx, dict(job.parameters))
            except JobCancelled as exc:
                if self.stopping.is_set() and job.status != JobStatus.CANCELLING:
                    self._finish(job, JobStatus.FAILED, error=f"{exc}; retry it to run it again")
                else:
                    self._finish(job, JobStatus.CANCELLED, error=str(exc), message="Cancelled")
            except Exception as exc:
                if isinstance(exc, dbconn.CONNECTION_ERRORS):
                    dbconn.lost()
                logger.exception("Job %s (%s) failed", job.pk, job.type)
                detail = "".join(traceback.format_exception(exc))[-8000:]
                self._finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", traceback_text=detail)
            else:
                self._finish(job, JobStatus.COMPLETED, result=result, message="Completed")
        finally:
            _refresh_connection()

    def _finish(
        self, job: Job, status: str, *, error: str = "", result=None, message: str | None = None, traceback_text=""
    ):
        """Write the terminal state, only if this worker still owns the running job (compare-and-set)."""
        now = timezone.now()
        fields = {
            "status": status,
            "error": error[:10_000],
            "finished_at": now,
            "updated_at": now,
            "message": (message or (error.splitlines()[0] if error else status.capitalize()))[:500],
        }
        if result is not None:
            fields["result"] = result
        if traceback_text:
            fields["traceback"] = traceback_text
        if status == JobStatus.COMPLETED:
            fields["progress"] = 100.0
        finished = self._write_finish(job, fields)
        if finished is None:
            logger.warning("Job %s was no longer ours when it ended (recovered or deleted)", job.pk)
            return
        status_changed.send(sender=Job, instance=finished)

    def _write_finish(self, job: Job, fields: dict) -> Job | None:
        """The terminal write, tried again on a fresh connection while the database connection is lost."""
        for attempt in range(1, FINISH_ATTEMPTS + 1):
            dbconn.drop_if_lost()
            try:
                return update_running_job(job.pk, self.name, **fields)
            except dbconn.CONNECTION_ERRORS as exc:
                dbconn.lost()
                if attempt == FINISH_ATTEMPTS:
                    logger.error("Job %s: could not record that it ended %s (%s)", job.pk, fields["status"], exc)
                    raise
                logger.warning("Job %s: database connection lost while recording its end (%s); retrying", job.pk, exc)
                time.sleep(FINISH_RETRY_SECONDS)
        return None

    def _shutdown(self):
        """Give running handlers a moment to stop cooperatively, then record the rest as interrupted."""
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for future in list(self._active.values()):
            remaining = deadline - time.monotonic()
            if remaining > 0:
                _wait(future, remaining)
        self._executor.shutdown(wait=False, cancel_futures=True)
        leftover = Job.objects.filter(worker=self.name, status__in=EXECUTING_STATUSES)
        for job in leftover:
            self._finish(job, JobStatus.FAILED, error="Interrupted: the worker was shut down; retry it to run it again")
        WorkerHeartbeat.objects.filter(name=self.name).delete()


_connection_checked = threading.local()
CONNECTION_CHECK_SECONDS = 5.0


def _refresh_connection():
    """Drop this thread's DB connection if it broke or expired, at most every few seconds.

    Each thread keeps its connection from job to job (opening one per job costs more than a no-op
    job). A check also arms Django's health check, one extra round trip, so it is not done per job.
    """
    now = time.monotonic()
    if now - getattr(_connection_checked, "at", 0.0) >= CONNECTION_CHECK_SECONDS:
        _connection_checked.at = now
        close_old_connections()


def _wait(future: Future, timeout: float):
    try:
        future.result(timeout=timeout)
    except Exception:  # the job's own outcome is already recorded by _execute
        pass
