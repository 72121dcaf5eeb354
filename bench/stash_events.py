"""Shared by the Stash live benchmarks: the emulator as its own process, and this process's own
subscription to its jobsSubscribe, which stamps each event with the wall time it arrived (≈ when Stash
reported it: same machine, one socket hop)."""

import json
import threading
import time
import urllib.request

from bench.common import Bench, free_port, wait_for


def start_emulator(bench: Bench, label: str, scenes: int):
    """`manage.py stashemulator` on a free port; returns (url, process)."""
    port = free_port()
    proc = bench.manage(label, "stashemulator", "--port", str(port), "--scenes", str(scenes))
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: bench.check_alive(proc) or _answers(url), timeout=120, what="the emulator to serve")
    return url, proc


def _answers(url: str) -> bool:
    try:
        return bool(control(url, "durations", {}))
    except OSError:
        return False


def control(url: str, name: str, body: dict | None = None) -> dict:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(f"{url}/_emulator/{name}", data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


class StashFeed:
    """This process's jobsSubscribe: `records` holds (arrival wall time, JobEvent) of every event."""

    def __init__(self, url: str):
        from stash.connection.client import StashClient
        from stash.connection.subscription import JobEvents

        self.records: list[tuple[float, object]] = []
        self.lock = threading.Lock()
        self.events = JobEvents(StashClient(url), self._record, retry_first=0.2)

    def _record(self, event):
        stamp = time.time()
        with self.lock:
            self.records.append((stamp, event))

    def __enter__(self):
        self.events.start()
        wait_for(self.events.live.is_set, 30, "the benchmark's own subscription to Stash's job events")
        return self

    def __exit__(self, *exc):
        self.events.close()

    def snapshot(self) -> list[tuple[float, object]]:
        with self.lock:
            return list(self.records)
