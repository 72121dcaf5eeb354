"""A local HTTP endpoint for Apprise's json:// target: records every message it is sent."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self):
        self.messages: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with endpoint.lock:
                    endpoint.messages.append(json.loads(body or b"{}"))
                    status = endpoint.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.apprise_url = f"json://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, name="apprise-endpoint", daemon=True).start()

    def titles(self) -> list[str]:
        with self.lock:
            return [m.get("title", "") for m in self.messages]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
