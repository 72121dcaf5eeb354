"""Stash's job manager (pkg/job/manager.go), emulated.

Jobs run one at a time in the order they were added, on one worker thread. A job is READY while it waits,
RUNNING while its task works (progress null while the task is still counting, then 0-1), and ends
FINISHED, FAILED (with `error`) or CANCELLED. stopJob cancels a READY job at once; a RUNNING one goes to
STOPPING and becomes CANCELLED when its task notices, within one tick. An ended job leaves the queue and
stays findable only while it is among the last 10 ended. Ids count from 1 and start again at 1 after a
restart, which also forgets the queue, the history and the running job.

Subscribers (`jobsSubscribe`, served by websocket.py) hear of a job as Stash's manager tells them
(checked against stashapp/stash pkg/job/manager.go and job.go, commit cf3489efd):
- ADD when it is queued;
- UPDATE at once when it starts RUNNING; a stop (STOPPING) is *not* sent by itself: cancel() only sets
  the status, which the job's next progress UPDATE carries;
- UPDATE for progress and sub-task changes, throttled per job (at most one per UPDATE_THROTTLE_SECONDS,
  the latest state sent when the window closes);
- REMOVE when it leaves the queue ended, carrying its final status. The throttle's pending send is not
  called off at the end: Stash skips it for FINISHED and CANCELLED jobs but not for FAILED ones, so a job
  that fails within a window of its last progress is followed by an UPDATE (FAILED) *after* its REMOVE.
A new subscriber is not told the current queue, and a restart drops every subscription (Stash's sockets
die with it).
"""

import queue as queues
import threading
import time
from collections import deque
from dataclasses import dataclass, field

READY, RUNNING, STOPPING, FINISHED, CANCELLED, FAILED = (
    "READY",
    "RUNNING",
    "STOPPING",
    "FINISHED",
    "CANCELLED",
    "FAILED",
)
GRAVEYARD_SIZE = 10
TICK_SECONDS = 0.05
COUNTING_SECONDS = 0.3  # at most this long (a tenth of the run) with progress null, as Stash while counting
ADD, UPDATE, REMOVE = "ADD", "UPDATE", "REMOVE"
# Stash's manager throttles progress notifications (pkg/job/manager.go: `defaultThrottleLimit`, 100 ms,
# in `updater.updateProgress`): a change less than this after the job's last notified one is not sent at
# once; one timer sends the state then current when the window closes.
UPDATE_THROTTLE_SECONDS = 0.1


@dataclass(eq=False)
class Job:
    id: int
    description: str
    task: object
    add_time: str
    epoch: int
    status: str = READY
    progress: float | None = 0.0  # Go's zero value until the task reports
    sub_tasks: list[str] = field(default_factory=list)
    start_time: str | None = None
    end_time: str | None = None
    error: str | None = None
    notified_at: float = float("-inf")  # monotonic time of the last UPDATE sent (the throttle)
    pending: threading.Timer | None = field(default=None, repr=False)  # the throttled send to come

    def snapshot(self) -> "Job":
        """A copy for a response, as Stash's GetJob returns a copy: later changes do not leak into it."""
        return Job(**{k: getattr(self, k) for k in self.__dataclass_fields__})


class JobQueue:
    def __init__(self, store):
        self.store = store
        self.lock = store.lock
        self.wakeup = threading.Condition(store.lock)
        self.queue: list[Job] = []
        self.graveyard: deque[Job] = deque(maxlen=GRAVEYARD_SIZE)
        self.last_id = 0
        self.epoch = 0
        self._worker: threading.Thread | None = None
        self._closed = False
        # jobsSubscribe: one queue per subscription, fed (kind, job copy) under the lock, None when the
        # subscription is dropped (restart, close, the `drop-subscriptions` control).
        self.subscribers: list[queues.SimpleQueue] = []

    # --- what the API offers -------------------------------------------------------------------

    def add(self, description: str, task) -> int:
        with self.lock:
            self.last_id += 1
            job = Job(self.last_id, description, task, self.store.now_nano(), self.epoch)
            self.queue.append(job)
            self._notify(ADD, job)
            self._ensure_worker()
            self.wakeup.notify_all()
            return job.id

    def find(self, job_id: int) -> Job | None:
        with self.lock:
            for job in (*self.queue, *self.graveyard):
                if job.id == job_id:
                    return job.snapshot()
            return None

    def current(self) -> list[Job]:
        with self.lock:
            return [job.snapshot() for job in self.queue]

    def stop(self, job_id: int):
        """Stash's CancelJob: no effect on unknown or ended jobs."""
        with self.lock:
            job = next((j for j in self.queue if j.id == job_id), None)
            if job is None:
                return
            if job.status == READY:
                job.status = CANCELLED
                job.end_time = self.store.now_nano()
                self._bury(job)
            elif job.status == RUNNING:
                job.status = STOPPING  # told to subscribers only by the job's next progress UPDATE
                self.wakeup.notify_all()

    def restart(self):
        """A Stash restart: the queue, the history and the running job are gone; ids start again at 1."""
        with self.lock:
            self.epoch += 1
            self.queue = []
            self.graveyard.clear()
            self.last_id = 0
            self.drop_subscriptions()
            self.wakeup.notify_all()

    def close(self):
        with self.lock:
            self._closed = True
            self.epoch += 1
            self.drop_subscriptions()
            self.wakeup.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=2)

    def subscribe(self) -> queues.SimpleQueue:
        """A new jobsSubscribe subscription: its queue of (kind, job) events, None once it is dropped."""
        events = queues.SimpleQueue()
        with self.lock:
            self.subscribers.append(events)
        return events

    def unsubscribe(self, events: queues.SimpleQueue):
        with self.lock:
            if events in self.subscribers:
                self.subscribers.remove(events)

    def drop_subscriptions(self) -> int:
        """End every subscription, as a Stash restart or a network cut does; returns how many."""
        with self.lock:
            dropped, self.subscribers = self.subscribers, []
        for events in dropped:
            events.put(None)
        return len(dropped)

    def summary(self) -> dict:
        with self.lock:
            return {
                "queue": [{"id": j.id, "status": j.status, "description": j.description} for j in self.queue],
                "finished": [{"id": j.id, "status": j.status} for j in self.graveyard],
                "last_id": self.last_id,
                "subscriptions": len(self.subscribers),
            }

    # --- the worker ----------------------------------------------------------------------------

    def _ensure_worker(self):
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="stash-emulator-jobs", daemon=True)
            self._worker.start()

    def _notify(self, kind: str, job: Job):
        """Tell every subscription (lock held, as Stash's manager does)."""
        if kind == UPDATE:
            job.notified_at = time.monotonic()
            job.pending = None  # this send carries what a pending one would have
        for events in self.subscribers:
            events.put((kind, job.snapshot()))

    def _progressed(self, job: Job):
        """A progress or sub-task change (lock held): notified now, or when the throttle window closes."""
        wait = job.notified_at + UPDATE_THROTTLE_SECONDS - time.monotonic()
        if wait <= 0:
            self._notify(UPDATE, job)
        elif job.pending is None:
            timer = job.pending = threading.Timer(wait, lambda: self._send_pending(job, timer))
            timer.daemon = True
            timer.start()

    def _send_pending(self, job: Job, timer):
        with self.lock:
            # A send in between (a status change, or a change once the window had closed) took its place.
            if job.pending is not timer:
                return
            job.pending = None
            # Stash's notifyJobUpdate skips FINISHED and CANCELLED jobs only: a FAILED one is sent, after
            # its REMOVE. A restart has dropped the subscriptions that could hear of an older epoch.
            if job.status not in (FINISHED, CANCELLED) and job.epoch == self.epoch:
                self._notify(UPDATE, job)

    def _bury(self, job: Job):
        # A pending throttled send stays armed, as in Stash (see _send_pending).
        job.sub_tasks = []
        if job in self.queue:
            self.queue.remove(job)
        self.graveyard.append(job)
        self._notify(REMOVE, job)

    def _next_ready(self) -> Job | None:
        return next((j for j in self.queue if j.status == READY), None)

    def _run(self):
        while True:
            with self.lock:
                job = self._next_ready()
                while job is None and not self._closed:
                    self.wakeup.wait()
                    job = self._next_ready()
                if self._closed:
                    return
                job.status = RUNNING
                job.progress = None
                job.start_time = self.store.now_nano()
                self._notify(UPDATE, job)
                failure, self.store.knobs.fail_next_job = self.store.knobs.fail_next_job, None
            error = self._execute(job, failure)
            with self.lock:
                if job.epoch != self.epoch:
                    continue  # lost in a restart
                if error is not None:
                    job.status, job.error = FAILED, error
                elif job.status == STOPPING:
                    job.status = CANCELLED
                else:
                    job.status = FINISHED
                job.end_time = self.store.now_nano()
                self._bury(job)

    def _alive(self, job: Job) -> bool:
        return job.epoch == self.epoch and job.status == RUNNING

    def _execute(self, job: Job, failure: str | None) -> str | None:
        """Run the job's task over its configured duration; the error message if it failed.

        Progress follows the clock after the counting phase, and the task's items are applied in step
        with it, so a stopped or failed job leaves the work done so far, as Stash's do."""
        task, store = job.task, self.store
        duration = max(0.0, task.duration(store.knobs))
        try:
            total = task.prepare(store)
            self._sleep_until(job, time.monotonic() + min(COUNTING_SECONDS, duration / 10))
            began = time.monotonic()
            work = duration - min(COUNTING_SECONDS, duration / 10)
            done = 0
            while True:
                fraction = 1.0 if work <= 0 else min(1.0, (time.monotonic() - began) / work)
                if failure and fraction >= store.knobs.fail_next_job_at:
                    store.note("error", f"job {job.id}: {failure}")
                    return failure
                target = total if fraction >= 1.0 else int(total * fraction)
                while done < target:
                    if not self._alive(job):
                        return None
                    detail = task.apply(store, done)
                    done += 1
                    with self.lock:
                        job.sub_tasks = [detail] if detail else []
                        self._progressed(job)
                with self.lock:
                    if not self._alive(job):
                        return None
                    progress = max(job.progress or 0.0, fraction)
                    if progress != job.progress:
                        job.progress = progress
                        self._progressed(job)
                if fraction >= 1.0:
                    return None
                self._sleep_until(job, time.monotonic() + TICK_SECONDS)
        except Exception as exc:  # a task that breaks fails its job, as a panic does in Stash
            store.note("error", f"job {job.id} failed: {exc!r}")
            return str(exc) or type(exc).__name__

    def _sleep_until(self, job: Job, deadline: float):
        """Sleep, waking early when the job is stopped or lost in a restart."""
        with self.lock:
            while self._alive(job):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.wakeup.wait(remaining)
