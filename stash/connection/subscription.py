"""Stash's job events, live: the `jobsSubscribe` subscription over a WebSocket on Stash's `/graphql`.

`JobEvents(client)` keeps one subscription open on its own thread and hands out what Stash says: ADD
(a job was queued), UPDATE (status or progress; Stash throttles progress to about one per 100 ms per
job), REMOVE (the job left the queue ended; it carries the final status, for which no UPDATE comes).
Besides Stash's events it reports its own state: OPEN after every (re)connect, once the subscription is
registered, and DOWN when it drops. Stash sends no current state on subscribe and events are lost while
the socket is down, so a user reads Stash once (findJob / jobQueue) on every OPEN: the reconciliation
read. While it is down the user polls as before, and the thread reconnects with backoff.

Both transports of Stash's gqlgen server are spoken: `graphql-transport-ws`, preferred, and the older
`graphql-ws`. gqlgen acknowledges no subscribe, so with the former OPEN waits for the pong of a ping
sent after the subscribe: gqlgen reads one socket's messages in order, so by then it has started the
subscription (the emulator has registered it; in Stash the resolver that registers it runs on its own
goroutine, so this is very likely but not certain). With the older protocol OPEN follows the start at
once. Either way an event in the instant between the reconciliation read and the registration can be
missed; the user's slow poll while live (Follow.live_poll_seconds) catches that. The socket is
authenticated like every request, with the `ApiKey` header.
"""

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from orchestrator.backoff import delay as backoff_delay
from stash.connection import documents

log = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
ADD, UPDATE, REMOVE = "ADD", "UPDATE", "REMOVE"  # Stash's JobStatusUpdateType
OPEN, DOWN = "OPEN", "DOWN"  # ours: the subscription is (again) registered / it dropped
SUBSCRIPTION_ID = "1"


@dataclass(frozen=True)
class JobEvent:
    kind: str  # ADD, UPDATE, REMOVE (from Stash), OPEN, DOWN (the subscription's own state)
    job: dict | None = None


class _Refused(Exception):
    """Stash answered the subscription with an error, or refused the connection."""


def socket_url(client) -> str:
    """ws(s)://…/graphql for the client's http(s)://… Stash."""
    url = client.endpoint
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    return "ws://" + url.removeprefix("http://")


class JobEvents:
    """The subscription's thread. Events go to `on_event(event)` (called on that thread; it must not
    block), or, without one, into a queue read with `get(timeout)`. Use as a context manager, or call
    `start()` and `close()`."""

    def __init__(
        self,
        client,
        on_event: Callable[[JobEvent], None] | None = None,
        *,
        open_timeout: float = 5.0,
        retry_first: float = 1.0,
        retry_max: float = 30.0,
    ):
        self.client = client
        self.url = socket_url(client)
        self._on_event = on_event
        self._queue: queue.SimpleQueue | None = None if on_event else queue.SimpleQueue()
        self.open_timeout = open_timeout
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.live = threading.Event()  # set while the subscription is registered and the socket up
        self.opened = 0  # how many times it (re)connected
        self.last_error = ""
        self._closed = threading.Event()
        self._socket = None
        self._thread: threading.Thread | None = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        # Not waiting: a connect under way (a Stash that does not answer) must not delay the caller.
        self.close(wait=False)

    def start(self) -> "JobEvents":
        self._thread = threading.Thread(target=self._run, name="stash-job-events", daemon=True)
        self._thread.start()
        return self

    def close(self, wait: bool = True):
        """End the subscription; with `wait`, until its thread is over."""
        self._closed.set()
        socket = self._socket
        if socket is not None and wait:
            socket.close()
        elif socket is not None:  # the close handshake may take a moment: not on the caller's time
            threading.Thread(target=socket.close, name="stash-job-events-close", daemon=True).start()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.open_timeout + 2)

    def get(self, timeout: float) -> JobEvent | None:
        """The next event, or None when none came within `timeout` seconds."""
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    # --- the thread ----------------------------------------------------------------------------

    def _emit(self, event: JobEvent):
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("a Stash job event handler failed")
        else:
            self._queue.put(event)

    def _run(self):
        failures = 0
        while not self._closed.is_set():
            try:
                self._session()
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed, _Refused, ValueError) as exc:
                self.last_error = _reason(exc)
            except Exception as exc:  # anything else must not end the thread with `live` still set
                log.exception("Stash job events from %s failed", self.url)
                self.last_error = _reason(exc)
            was_live = self.live.is_set()
            if was_live:
                self.live.clear()
                self._emit(JobEvent(DOWN))
            if self._closed.is_set():
                return
            # A socket that was up and dropped is retried after the first delay; refusals back off.
            failures = 1 if was_live else failures + 1
            wait = backoff_delay(max(1, failures), self.retry_first, self.retry_max)
            log.info(
                "Stash job events from %s unavailable (%s); trying again in %.1f s", self.url, self.last_error, wait
            )
            self._closed.wait(wait)

    def _session(self):
        headers = {"ApiKey": self.client.api_key} if self.client.api_key else {}
        with connect(
            self.url,
            subprotocols=[TRANSPORT_WS, LEGACY_WS],
            additional_headers=headers,
            open_timeout=self.open_timeout,
            proxy=None,
            compression=None,
        ) as socket:
            self._socket = socket
            if self._closed.is_set():
                return
            legacy = socket.subprotocol != TRANSPORT_WS
            socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            self._expect(socket, "connection_ack", legacy)
            payload = {"query": documents.JOBS_SUBSCRIBE, "operationName": "JobsSubscribe", "variables": {}}
            socket.send(
                json.dumps({"id": SUBSCRIPTION_ID, "type": "start" if legacy else "subscribe", "payload": payload})
            )
            early = []
            if not legacy:
                socket.send(json.dumps({"type": "ping"}))
                early = self._expect(socket, "pong", legacy)
            self.opened += 1
            self.live.set()
            self._emit(JobEvent(OPEN))
            for event in early:
                self._emit(event)
            while not self._closed.is_set():
                event = self._message(socket, socket.recv(), legacy)
                if event is not None:
                    self._emit(event)

    def _expect(self, socket, kind: str, legacy: bool) -> list[JobEvent]:
        """Read until a message of `kind` (within open_timeout); returns the job events read meanwhile."""
        deadline = time.monotonic() + self.open_timeout
        events = []
        while True:
            raw = socket.recv(timeout=max(0.0, deadline - time.monotonic()))
            if json.loads(raw).get("type") == kind:
                return events
            event = self._message(socket, raw, legacy)
            if event is not None:
                events.append(event)

    def _message(self, socket, raw, legacy: bool) -> JobEvent | None:
        message = json.loads(raw)
        kind = message.get("type")
        if kind in ("next", "data"):
            payload = message.get("payload") or {}
            if payload.get("errors"):
                log.warning("Stash job event with errors: %s", payload["errors"])
            update = (payload.get("data") or {}).get("jobsSubscribe")
            if isinstance(update, dict) and update.get("type") in (ADD, UPDATE, REMOVE):
                return JobEvent(update["type"], update.get("job") or {})
            return None
        if kind == "ping":
            socket.send(json.dumps({"type": "pong"}))
        elif kind in ("error", "connection_error"):
            raise _Refused(f"Stash refused the job subscription: {_messages(message.get('payload'))}")
        elif kind == "complete":
            raise _Refused("Stash ended the job subscription")
        return None  # ka, pong, connection_ack again: nothing to report


def _messages(payload) -> str:
    items = payload if isinstance(payload, list) else [payload]
    return "; ".join(str(item.get("message", item)) if isinstance(item, dict) else str(item) for item in items)


def _reason(exc: Exception) -> str:
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code} on the WebSocket upgrade"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd else None
        return f"the socket closed ({code})" if code else "the socket dropped"
    return str(exc) or type(exc).__name__
