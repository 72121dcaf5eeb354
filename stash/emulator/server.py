"""The emulator over real HTTP: `/graphql` like Stash (POST JSON, or GET ?query=), the scene and entity
image/stream URLs the API hands out, and the test controls under `/_emulator/`.

`EmulatorServer(store).start()` serves on a background thread and returns the base URL (tests);
`serve_forever()` serves on the calling thread (the `stashemulator` command). With an API key set, every
Stash route wants header `ApiKey: <key>` or `?apikey=<key>` and answers 401 otherwise; the controls do not.
A WebSocket upgrade on `/graphql` serves `jobsSubscribe` (websocket.py).
"""

import html
import json
import logging
import mimetypes
import os
import shutil
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from stash.emulator import controls, covers, executor, websocket
from stash.emulator.store import NotFound

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class EmulatorServer:
    def __init__(self, store, host: str = "127.0.0.1", port: int = 0):
        self.store = store
        self.httpd = _HTTPServer((host, port), _handler_for(store))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="stash-emulator-http", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self):
        self.httpd.serve_forever()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.jobs.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler_for(store):
    class Handler(_Handler):
        pass

    Handler.store = store
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients page through thousands of requests
    server_version = "StashEmulator"
    store = None

    def log_message(self, format, *args):
        log.debug("%s %s", self.address_string(), format % args)

    # --- plumbing ------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload):
        self._send(status, json.dumps(payload, separators=(",", ":")).encode())

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"errors": [{"message": "request body too large"}], "data": None})
            return None
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            self._json(400, {"errors": [{"message": f"json request body could not be decoded: {exc}"}], "data": None})
            return None
        if not isinstance(body, dict):
            self._json(400, {"errors": [{"message": "the request body must be a JSON object"}], "data": None})
            return None
        return body

    def _authorised(self, query: dict) -> bool:
        key = self.store.api_key
        if not key or self.headers.get("ApiKey") == key or query.get("apikey", [""])[0] == key:
            return True
        self._send(401, b"Unauthorized\n", "text/plain; charset=utf-8")
        return False

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    # --- routes --------------------------------------------------------------------------------

    def do_POST(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path.startswith("/_emulator/"):
            body = self._body()
            if body is not None:
                self._control(url.path.removeprefix("/_emulator/"), body)
            return
        if url.path != "/graphql":
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        if not self._authorised(query):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return
        body = self._body()
        if body is not None:
            self._graphql(body.get("query") or "", body.get("variables"), body.get("operationName"))

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/_emulator/state":
            self._json(200, self.store.state())
        elif url.path == "/":
            self._send(200, b"Stash emulator: POST GraphQL to /graphql\n", "text/plain; charset=utf-8")
        elif url.path == "/graphql" and websocket.is_upgrade(self.headers):
            self._websocket(query)
        elif not self._authorised(query):
            return
        elif url.path == "/graphql":
            try:
                variables = json.loads(query["variables"][0]) if query.get("variables") else None
            except ValueError as exc:
                self._json(400, {"errors": [{"message": f"variables could not be decoded: {exc}"}], "data": None})
                return
            self._graphql(query.get("query", [""])[0], variables, query.get("operationName", [None])[0])
        else:
            self._media(url.path.strip("/").split("/"))

    do_HEAD = do_GET

    def _websocket(self, query: dict):
        """A subscription socket. A wrong key is refused before the upgrade; no key at all may still come
        in connection_init's payload (websocket.py)."""
        given = self.headers.get("ApiKey") or query.get("apikey", [""])[0]
        if given and not self._authorised(query):
            return
        if self.store.knobs.refuse_subscriptions:  # e.g. a proxy in front of Stash that passes no upgrades
            self._send(400, b"websocket upgrade refused\n", "text/plain; charset=utf-8")
            return
        websocket.serve(self, self.store, key_in_request=not self.store.api_key or bool(given))

    def _graphql(self, text: str, variables, operation_name):
        if variables is not None and not isinstance(variables, dict):
            self._json(400, {"errors": [{"message": "variables must be a JSON object"}], "data": None})
            return
        context = executor.Context(self.store, self._base_url())
        try:
            status, payload = executor.execute(text, variables, operation_name, context)
        except Exception:  # a bug here must answer, not drop the connection
            log.exception("emulator failed to answer %r", text[:200])
            status, payload = 500, '{"errors":[{"message":"internal system error"}],"data":null}'
        self._send(status, payload.encode())

    def _control(self, name: str, body: dict):
        try:
            result = controls.run(self.store, name, body)
        except KeyError:
            known = [*controls.CONTROLS, *(f"{kinds}[/<id>[/delete]]" for kinds in controls.PLURALS)]
            self._json(404, {"error": f"no control named {name!r}", "controls": known})
        except NotFound as exc:
            self._json(404, {"error": str(exc).strip("'")})
        except (TypeError, ValueError) as exc:
            self._json(400, {"error": str(exc)})
        else:
            self._json(200, result)

    # --- images and streams --------------------------------------------------------------------

    def _media(self, parts: list[str]):
        """/scene/<id>/screenshot|stream|..., /<tag|performer|studio>/<id>/image."""
        if len(parts) >= 3 and parts[0] in ("tag", "performer", "studio") and parts[2] == "image":
            entity = self._lookup(parts[0], parts[1])
            if entity is not None:
                self._send(200, placeholder_svg(entity.name, entity.id), "image/svg+xml")
            return
        if len(parts) >= 3 and parts[0] == "scene":
            scene = self._lookup("scene", parts[1])
            if scene is None:
                return
            if parts[2] == "screenshot":
                real = covers.frame_jpeg(scene.files[0].path) if scene.has_cover and scene.files else None
                if real is not None:
                    self._send(200, real, "image/jpeg")
                    return
                label = scene.title or (scene.files[0].basename if scene.files else f"Scene {scene.id}")
                image = placeholder_svg(label, scene.id) if scene.has_cover else placeholder_svg("No cover", 0)
                self._send(200, image, "image/svg+xml")
                return
            if parts[2] == "stream" and scene.files and os.path.isfile(scene.files[0].path):
                self._file(scene.files[0].path)
                return
        self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _lookup(self, kind: str, raw_id: str):
        try:
            return self.store.get(kind, raw_id)
        except NotFound:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return None

    def _file(self, path: str):
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command != "HEAD":
            with open(path, "rb") as fh:
                shutil.copyfileobj(fh, self.wfile)


def placeholder_svg(label: str, seed: int) -> bytes:
    """A 16:9 card in a colour derived from `seed`, with the label: demo pages get a picture per scene."""
    hue = zlib.crc32(str(seed).encode()) % 360 if seed else 0
    saturation = 45 if seed else 0
    text = html.escape(label[:40])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">'
        f'<rect width="640" height="360" fill="hsl({hue},{saturation}%,38%)"/>'
        f'<text x="320" y="190" font-family="sans-serif" font-size="30" fill="#fff" text-anchor="middle">{text}</text>'
        "</svg>"
    ).encode()
