"""A stand-in for the AI video tagger (the AITagger model server's `POST /process_video/`), served over
real HTTP from a thread of the test process. Tests set what it answers; it records what it was asked."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TaggerStandIn:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.body: object = {"result": {"video_tag_info": {}}}
        self.delay = 0.0
        self.answer = None  # optional function(request_json) -> (status, body), overriding status/body
        self.on_request = None  # optional function(request_json), called before the delay
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="tagger-stand-in", daemon=True)

    def start(self) -> "TaggerStandIn":
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reply(self, body, status: int = 200, delay: float = 0.0):
        """Answer every request with `body` (a dict/list is sent as JSON, a str as it is)."""
        with self.lock:
            self.body, self.status, self.delay, self.answer = body, status, delay, None

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    request = json.loads(raw)
                except ValueError:
                    request = {"unparsable": raw.decode(errors="replace")}
                with stand_in.lock:
                    stand_in.requests.append({"path": self.path, "json": request})
                    status, body, delay, answer = stand_in.status, stand_in.body, stand_in.delay, stand_in.answer
                if stand_in.on_request:
                    stand_in.on_request(request)
                if self.path != "/process_video/":
                    status, body = 404, {"detail": "Not Found"}
                elif answer is not None:
                    status, body = answer(request)
                if delay:
                    time.sleep(delay)
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout, cancelled job)

            def log_message(self, *args):
                pass

        return Handler
