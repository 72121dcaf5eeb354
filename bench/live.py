"""The WebSocket side of the benchmarks: logging in over HTTP, client processes, and reading what they got.

Latency of one delivery = the client's receive wall time − the pushed `status_updated_at`, which
daemons/services.set_status takes inside update_status() just before the UPDATE. Both clocks are this
machine's wall clock.
"""

import json
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.common import PYTHON, ROOT, Bench, note, wait_for

# The Test daemon's two statuses per iteration (daemons/kinds/test.py).
STATUS = re.compile(r"^(?:Iteration \d+: checking for work|Sleeping for \S+ seconds)$")


def login_cookie(bench: Bench, url: str) -> str:
    """Log in like a browser (GET the form for its CSRF token, POST the credentials); return a Cookie header."""
    import requests

    username, password = bench.user()
    http = requests.Session()
    page = http.get(f"{url}/login/", timeout=30)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    token = match.group(1) if match else http.cookies.get("csrftoken", "")
    answer = http.post(
        f"{url}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/login/"},
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code != 302 or "sessionid" not in http.cookies:
        raise RuntimeError(f"login over HTTP failed: GET /login/ {page.status_code}, POST {answer.status_code}")
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


class Clients:
    """`processes` client processes (bench/wsclient.py) with `per_process` sockets each, subscribed to the
    live group `subscribe`."""

    def __init__(
        self, bench: Bench, url: str, cookie: str, processes: int, per_process: int, max_messages=0, subscribe="daemons"
    ):
        self.bench = bench
        self.ws_url = url.replace("http://", "ws://") + f"/ws/live/?subscribe={subscribe}"
        self.origin = url
        self.env = {**bench.env, "BENCH_COOKIE": cookie}
        # A directory per group, so that no earlier benchmark's ".ready" marker is taken for this one's.
        self.dir = Path(tempfile.mkdtemp(prefix="ws-", dir=bench.tmp))
        self.outs = [self.dir / f"client-{n}.json" for n in range(processes)]
        self.per_process = per_process
        self.max_messages = max_messages
        self.procs = []

    def start(self) -> list:
        for n, out in enumerate(self.outs):
            argv = [PYTHON, str(ROOT / "bench" / "wsclient.py"), self.ws_url, self.origin, str(out)]
            argv += ["--sockets", str(self.per_process), "--max-messages", str(self.max_messages)]
            self.procs.append(self.bench.start(f"{self.dir.name}/client-{n}", argv, env=self.env))
        return self.procs

    def wait_ready(self, timeout: float = 60):
        def ready():
            self.bench.check_alive(*self.procs)
            return all(Path(f"{out}.ready").exists() for out in self.outs)

        wait_for(ready, timeout, "WebSocket clients to connect and read their snapshots")

    def wait_done(self, timeout: float) -> bool:
        """Wait for clients that stop by themselves (--max-messages); False if they had to be stopped."""
        try:
            wait_for(lambda: all(p.poll() is not None for p in self.procs), timeout, "clients to finish")
            return True
        except TimeoutError:
            self.bench.stop(self.procs)
            return False

    def results(self) -> list[dict]:
        """Every socket's {"error", "records"}, across all client processes."""
        sockets = []
        for proc, out in zip(self.procs, self.outs, strict=True):
            if not out.exists():
                raise RuntimeError(f"{proc.label} wrote no results:\n{self.bench.output(proc)[-3000:]}")
            sockets += json.loads(out.read_text())
        for n, sock in enumerate(sockets):
            if sock["error"]:
                note(f"socket {n} failed: {sock['error']}")
        return sockets


@dataclass(frozen=True)
class Delivery:
    daemon: str
    sent: float  # status_updated_at, as a Unix time
    received: float

    @property
    def latency_ms(self) -> float:
        return (self.received - self.sent) * 1000


def status_deliveries(sockets: list[dict], daemons: set[str]) -> list[list[Delivery]]:
    """Per socket, the Test-daemon status pushes of `daemons` it received, first copy of each update only.

    Other writes to a daemon row (state changes) push its current status again with the same
    status_updated_at; those repeats are not new updates and are skipped.
    """
    per_socket = []
    for sock in sockets:
        seen, deliveries = set(), []
        for received, text in sock["records"]:
            message = json.loads(text)
            daemon = message.get("daemon") if message.get("type") == "daemon" else None
            if not daemon or daemon["name"] not in daemons or not daemon.get("status_updated_at"):
                continue
            key = (daemon["name"], daemon["status_updated_at"])
            if not STATUS.match(daemon.get("current_status") or "") or key in seen:
                continue
            seen.add(key)
            sent = datetime.fromisoformat(daemon["status_updated_at"]).timestamp()
            deliveries.append(Delivery(daemon["name"], sent, received))
        per_socket.append(deliveries)
    return per_socket
