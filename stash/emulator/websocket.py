"""GraphQL subscriptions over WebSocket on `/graphql`, as Stash's gqlgen server serves them.

Both of gqlgen's transports (github.com/99designs/gqlgen graphql/handler/transport/websocket*.go):
- `graphql-transport-ws`: connection_init → connection_ack; subscribe {id, payload} → next … complete,
  or error {id, payload: [errors]}; complete from the client ends one; ping ↔ pong. A protocol fault
  closes the socket with its code (4400 bad message, 4401 subscribe before the ack, 4403 refused
  connection_init, 4409 a duplicate id).
- `graphql-ws` (the older one, also chosen when the client names no subprotocol, as gqlgen does):
  connection_init → connection_ack + ka, then a ka every KEEPALIVE_SECONDS (Stash sets gqlgen's
  KeepAlivePingInterval to 10 s, internal/api/server.go; graphql-transport-ws gets no keep-alive from
  it); start → data … complete, or error; stop ends one; connection_error then close for a refused
  init; connection_terminate closes.
The messages of one socket are handled in order, here and in gqlgen, so a ping sent after a subscribe
is answered once the subscription is registered (here certainly; in gqlgen the registering resolver
runs on a goroutine of its own).

Authentication: Stash checks the upgrade request like any other (`ApiKey` header or `?apikey=`); a
wrong key gets 401 before the upgrade. The emulator also takes the key from connection_init's payload
(`ApiKey` or `apiKey`) when the upgrade carried none, which a browser client needs.

Events are those of jobs.py (ADD, UPDATE throttled, REMOVE). The WebSocket framing is the `websockets`
library's sans-I/O ServerProtocol, driven over the socket http.server hands the handler.
"""

import json
import logging
import socket
import threading

from websockets.frames import Opcode
from websockets.server import ServerProtocol

from stash.emulator import executor

log = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
_STOP = object()  # put in a subscription's queue to end its pump
KEEPALIVE_SECONDS = 10.0  # Stash's KeepAlivePingInterval (graphql-ws only)


def is_upgrade(headers) -> bool:
    return (headers.get("Upgrade") or "").lower() == "websocket"


def _selector(store):
    """Stash's subprotocol choice: the first the client offers that it speaks (graphql-ws only, for an
    older build); none offered: graphql-ws, as gqlgen."""
    spoken = (LEGACY_WS,) if store.knobs.legacy_subscriptions_only else (TRANSPORT_WS, LEGACY_WS)
    return lambda protocol, offered: _select(spoken, offered)


def _select(spoken, offered):
    for name in offered:
        if name in spoken:
            return name
    if offered:
        from websockets.exceptions import NegotiationError

        raise NegotiationError(f"unsupported subprotocol; expected {' or '.join(spoken)}")
    return None


def serve(handler, store, key_in_request: bool):
    """Upgrade the handler's request and serve the socket until it closes (runs on the handler's thread)."""
    handler.close_connection = True
    protocol = ServerProtocol(subprotocols=[TRANSPORT_WS, LEGACY_WS], select_subprotocol=_selector(store), logger=log)
    # http.server has read the request already: hand the protocol the same bytes, so that it parses
    # the handshake itself and moves on to frames.
    head = f"GET {handler.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in handler.headers.items())
    protocol.receive_data((head + "\r\n").encode("latin-1"))
    (request,) = protocol.events_received()
    response = protocol.accept(request)
    protocol.send_response(response)
    connection = _Connection(handler, store, protocol, key_in_request)
    connection.flush()
    if response.status_code != 101:
        return
    try:
        connection.run()
    finally:
        connection.end()


class _Connection:
    def __init__(self, handler, store, protocol: ServerProtocol, key_in_request: bool):
        self.store = store
        self.protocol = protocol
        self.sock: socket.socket = handler.connection
        self.rfile = handler.rfile
        self.legacy = (protocol.subprotocol or LEGACY_WS) == LEGACY_WS
        self.authorised = key_in_request
        self.acked = False
        self.context = executor.Context(store, handler._base_url())
        self.lock = threading.Lock()  # the protocol object and socket writes are shared with the pumps
        self.subscriptions: dict[str, object] = {}
        self.ended = threading.Event()

    # --- plumbing ------------------------------------------------------------------------------

    def flush(self):
        for chunk in self.protocol.data_to_send():
            try:
                if chunk:
                    self.sock.sendall(chunk)
                else:
                    self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                return

    def send(self, message: dict | str):
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        with self.lock:
            try:
                self.protocol.send_text(text.encode())
            except Exception:  # closing or closed: the message has nowhere to go
                return
            self.flush()

    def close(self, code: int, reason: str):
        with self.lock:
            try:
                self.protocol.send_close(code, reason)
            except Exception:
                pass
            self.flush()

    def abort(self):
        """Cut the connection without a close frame (Stash restarted, the network dropped)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def end(self):
        self.ended.set()
        for events in list(self.subscriptions.values()):
            self.store.jobs.unsubscribe(events)
            events.put(_STOP)
        self.subscriptions.clear()

    def run(self):
        while True:
            try:
                data = self.rfile.read1(65536)
            except OSError:
                return
            with self.lock:
                if data:
                    self.protocol.receive_data(data)
                else:
                    self.protocol.receive_eof()
                frames = self.protocol.events_received()
                self.flush()  # pongs and the close handshake the protocol answers itself
            for frame in frames:
                if frame.opcode == Opcode.TEXT:
                    self.message(frame.data)
                elif frame.opcode == Opcode.CLOSE:
                    return
            if not data or self.protocol.close_expected():
                return

    # --- the GraphQL transports ----------------------------------------------------------------

    def message(self, raw: bytes):
        try:
            message = json.loads(raw)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            self.close(4400, "invalid message received")
            return
        handler = {
            "connection_init": self.init,
            "ping": lambda m: self.send({"type": "pong"}),
            "pong": lambda m: None,
            "subscribe": self.start,
            "start": self.start,
            "complete": self.stop,
            "stop": self.stop,
            "connection_terminate": lambda m: self.close(1000, ""),
        }.get(kind)
        if handler is None:
            self.close(4400, f"unexpected message {kind}")
            return
        handler(message)

    def init(self, message: dict):
        payload = message.get("payload") or {}
        key = self.store.api_key
        if not self.authorised and isinstance(payload, dict):
            self.authorised = not key or key in (payload.get("ApiKey"), payload.get("apiKey"))
        if not self.authorised:
            if self.legacy:
                self.send({"type": "connection_error", "payload": {"message": "Unauthorized"}})
                self.close(1000, "")
            else:
                self.close(4403, "Forbidden")
            return
        self.acked = True
        self.send({"type": "connection_ack"})
        if self.legacy:
            self.send({"type": "ka"})
            threading.Thread(target=self.keep_alive, name="stash-emulator-ws-ka", daemon=True).start()

    def keep_alive(self):
        while not self.ended.wait(KEEPALIVE_SECONDS):
            self.send({"type": "ka"})

    def start(self, message: dict):
        if not self.acked:
            self.close(4401, "Unauthorized")
            return
        sub_id = str(message.get("id") or "")
        if sub_id in self.subscriptions:
            self.close(4409, f"Subscriber for {sub_id} already exists")
            return
        payload = message.get("payload") or {}
        errors, project = executor.subscription(
            payload.get("query") or "", payload.get("variables"), payload.get("operationName")
        )
        if errors:
            self.send({"type": "error", "id": sub_id, "payload": errors})
            return
        events = self.store.jobs.subscribe()
        self.subscriptions[sub_id] = events
        threading.Thread(
            target=self.pump, args=(sub_id, events, project), name=f"stash-emulator-ws-{sub_id}", daemon=True
        ).start()

    def stop(self, message: dict):
        sub_id = str(message.get("id") or "")
        events = self.subscriptions.pop(sub_id, None)
        if events is not None:
            self.store.jobs.unsubscribe(events)
            events.put(_STOP)
            self.send({"type": "complete", "id": sub_id})

    def pump(self, sub_id: str, events, project):
        """Send one subscription's events in order until it is stopped or dropped."""
        kind = "data" if self.legacy else "next"
        while True:
            event = events.get()
            if event is _STOP:
                return
            if event is None:  # dropped: Stash went away, so does the whole socket
                self.abort()
                return
            try:
                data = project(event[0], event[1], self.context)
            except Exception:
                log.exception("emulator failed to project a job event")
                continue
            self.send(f'{{"type":"{kind}","id":{json.dumps(sub_id)},"payload":{data}}}')
