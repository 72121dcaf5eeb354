"""Publishing live updates to Channels groups from any process.

`publish(groups, payload)` never blocks its caller and never raises: a dedicated thread runs one event loop
that sends queued messages to the channel layer in order. Sync code (signal handlers, job workers) and
async code (daemon loops) use the same path, so a status write costs its caller a queue append only.

Wire format (read by the web process's fan-out, orchestrator/live/fanout.py): one channel-layer message
{"type": "live.message", "updates": [[[group, …], text], …]} carries every update queued meanwhile whose
groups share a carrier (see `groups.carrier()`), each payload serialised once however many groups and sockets
it goes to. Under load, one Redis round trip then moves many updates; when idle, each goes alone at once
(nothing waits to fill a batch).

If Redis is unreachable the message is dropped and the failure logged (at most once a minute): every
payload is a whole-state snapshot written after the database commit, and every page gets fresh state on
(re)connect, so nothing is lost for good; daemons and jobs keep working and keep writing to the database.
"""

import asyncio
import atexit
import collections
import concurrent.futures
import json
import logging
import os
import threading
import time

from channels.layers import get_channel_layer

from orchestrator.live.groups import carrier

logger = logging.getLogger(__name__)

# Bounded so that a Redis that hangs cannot grow memory without limit; the oldest snapshot goes first.
MAX_QUEUED = 5000
# Updates per channel-layer message: keeps one message well under a megabyte.
MAX_BATCH = 200
FAILURE_LOG_INTERVAL = 60.0
SEND_TIMEOUT = 2.0


class _Publisher:
    def __init__(self):
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: collections.deque = collections.deque(maxlen=MAX_QUEUED)  # full: the oldest is dropped
        self._woken = False  # the loop was woken for what is queued and has not yet found the queue empty
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._pid = None
        self._last_failure_log = 0.0

    def _ensure_started(self):
        # After a fork the thread does not exist in the child: start a fresh one.
        if self._loop is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return
            self._queue.clear()
            self._woken = False
            ready = threading.Event()
            thread = threading.Thread(target=self._run, args=(ready,), name="live-publisher", daemon=True)
            thread.start()
            ready.wait()
            self._pid = os.getpid()

    def _run(self, ready: threading.Event):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._wake = asyncio.Event()
        ready.set()
        loop.run_until_complete(self._drain())

    async def _drain(self):
        layer = get_channel_layer()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while batch := self._take():
                await self._send(layer, batch)

    def _take(self) -> list:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            if not batch:
                self._woken = False
                self._idle.notify_all()
            return batch

    async def _send(self, layer, batch: list):
        by_carrier: dict[str, list] = {}
        for groups, payload in batch:
            try:
                text = json.dumps(payload)
            except (TypeError, ValueError):
                logger.exception("Live update for %s not serialisable", ", ".join(groups))
                continue
            for name in dict.fromkeys(carrier(g) for g in groups):
                by_carrier.setdefault(name, []).append([[g for g in groups if carrier(g) == name], text])
        for name, updates in by_carrier.items():
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await layer.group_send(name, {"type": "live.message", "updates": updates})
            except Exception as exc:  # Redis down or slow: drop, the next snapshot heals it
                now = time.monotonic()
                if now - self._last_failure_log > FAILURE_LOG_INTERVAL:
                    self._last_failure_log = now
                    logger.warning("Live update not delivered (channel layer unavailable): %s", exc)

    def publish(self, groups: str | tuple | list, payload: dict):
        """Queue `payload` for one group or several (a job's state goes to "jobs" and "job.<id>")."""
        groups = (groups,) if isinstance(groups, str) else tuple(groups)
        self._ensure_started()
        with self._lock:
            self._queue.append((groups, payload))
            if self._woken:
                return  # the loop will find it: one wake-up (one syscall) serves a whole burst
            self._woken = True
        self._loop.call_soon_threadsafe(self._wake.set)

    def call_soon(self, coroutine) -> concurrent.futures.Future:
        """Run `coroutine` on the publisher thread's event loop: how sync code (the job worker) uses the
        channel layer without an event loop of its own (orchestrator/wakeups.py listens this way)."""
        self._ensure_started()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued message has been handed to the channel layer (or dropped)."""
        if self._loop is None or self._pid != os.getpid():
            return True
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._woken:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True


_publisher = _Publisher()
publish = _publisher.publish
call_soon = _publisher.call_soon
flush = _publisher.flush
atexit.register(flush, 1.0)
