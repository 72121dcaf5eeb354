"""Publishing live updates to Channels groups from any process.

`publish(group, payload)` never blocks its caller and never raises: a dedicated thread runs one event loop
that sends queued messages to the channel layer in order. Sync code (signal handlers, job workers) and
async code (daemon loops) use the same path, so a status write costs its caller a queue append only.

If Redis is unreachable the message is dropped and the failure logged (at most once a minute): every
payload is a whole-state snapshot written after the database commit, and every page gets fresh state on
(re)connect, so nothing is lost for good; daemons and jobs keep working and keep writing to the database.
"""

import asyncio
import atexit
import json
import logging
import threading
import time

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# Bounded so that a Redis that hangs cannot grow memory without limit; the oldest snapshot goes first.
MAX_QUEUED = 5000
FAILURE_LOG_INTERVAL = 60.0
SEND_TIMEOUT = 2.0


class _Publisher:
    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._pid = None
        self._last_failure_log = 0.0
        self._pending = 0
        self._idle = threading.Condition()

    def _ensure_started(self):
        import os

        # After a fork the thread does not exist in the child: start a fresh one.
        if self._loop is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return
            ready = threading.Event()
            thread = threading.Thread(target=self._run, args=(ready,), name="live-publisher", daemon=True)
            thread.start()
            ready.wait()
            self._pid = os.getpid()

    def _run(self, ready: threading.Event):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._queue = asyncio.Queue()
        ready.set()
        loop.run_until_complete(self._drain())

    async def _drain(self):
        layer = get_channel_layer()
        while True:
            group, payload = await self._queue.get()
            try:
                # Serialised once here, not once per socket in the web process.
                message = {"type": "live.message", "text": json.dumps(payload)}
                await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT)
            except Exception as exc:  # Redis down or slow: drop, the next snapshot heals it
                now = time.monotonic()
                if now - self._last_failure_log > FAILURE_LOG_INTERVAL:
                    self._last_failure_log = now
                    logger.warning("Live update not delivered (channel layer unavailable): %s", exc)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _enqueue(self, group: str, payload: dict):
        if self._queue.qsize() >= MAX_QUEUED:
            self._queue.get_nowait()
            with self._idle:
                self._pending -= 1
        self._queue.put_nowait((group, payload))

    def publish(self, group: str, payload: dict):
        self._ensure_started()
        with self._idle:
            self._pending += 1
        self._loop.call_soon_threadsafe(self._enqueue, group, payload)

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued message has been handed to the channel layer (or dropped)."""
        if self._loop is None:
            return True
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True


_publisher = _Publisher()
publish = _publisher.publish
flush = _publisher.flush
atexit.register(flush, 1.0)
