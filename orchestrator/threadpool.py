"""A thread pool whose threads never hold up the process's exit.

concurrent.futures.ThreadPoolExecutor (and asyncio's default executor) join their threads at exit, so a
process asked to stop waits for whatever call is in flight: a Stash request may take 3 tries of 30 s.
Daemon hosts and job workers record what they interrupt before they return, so the calls still running
then are abandoned: these threads are daemon threads and exit with the process.
"""

import logging
import os
import queue
import sys
import threading
from concurrent.futures import Executor, Future


class DaemonThreadPool(Executor):
    """Up to `max_workers` long-lived daemon threads (each keeps its DB connection from call to call)."""

    def __init__(self, max_workers: int, name: str):
        self._max = max_workers
        self._name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future = Future()
            self._queue.put((future, fn, args, kwargs))
            # A thread is started only when none is idle (the idle ones take the work from the queue).
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max:
                thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
            return future

    def _work(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            del item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False):
        with self._lock:
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            for _ in self._threads:
                self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


def exit_without_stragglers(code: int = 0, grace: float = 0.5):
    """Call when a process has shut down in order: if the interpreter's exit is still waiting after
    `grace` seconds for threads it joins (a ThreadPoolExecutor a library started, with a call in flight),
    the process exits with `code` without them. A daemon timer: a prompt exit never waits for it."""
    timer = threading.Timer(grace, _leave, (code, "Exiting without waiting for threads still in a call"))
    timer.daemon = True
    timer.start()


# After SIGTERM a process exits by then whatever it waits on (a database that stopped answering while
# it records its shutdown): within the 10 s promised (runstack SIGKILLs its children at 8 s anyway).
STOP_DEADLINE_SECONDS = 9.5


def exit_by_deadline(seconds: float = STOP_DEADLINE_SECONDS, code: int = 1):
    """Call when a stop is requested (from a signal handler too): if the process is still running after
    `seconds`, it exits with `code`, its orderly shutdown unfinished. A daemon timer, started once (no
    lock: signal handlers and the host's event loop both run on the main thread)."""
    global _deadline
    if _deadline is not None:
        return
    _deadline = threading.Timer(seconds, _leave, (code, "Shutdown did not finish in time; exiting"))
    _deadline.daemon = True
    _deadline.start()


_deadline: threading.Timer | None = None


def _leave(code: int, why: str):
    logging.getLogger(__name__).warning(why)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
