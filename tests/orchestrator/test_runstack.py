"""The all-in-one run: `manage.py runstack` (what `make run` execs), its embedded Redis, and the first-run
admin login (`manage.py ensureadmin`)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from orchestrator.embedded_redis import EmbeddedRedis, find_redis_server, ping
from orchestrator.supervisor import backoff_delay
from tests.conftest import ROOT, free_port, known_daemons, wait_for


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _without_redis_url(env: dict) -> dict:
    """The environment without REDIS_URL, and with the project settings: tests.settings would put the
    test default back."""
    env = dict(env, DJANGO_SETTINGS_MODULE="orchestrator.settings")
    env.pop("REDIS_URL", None)
    return env


def _stash_version(url: str):
    try:
        answer = requests.post(f"{url}/graphql", json={"query": "{ version { version } }"}, timeout=2)
    except requests.RequestException:
        return None
    return answer.json()["data"]["version"]


def _demo_file_paths(url: str) -> list[str]:
    query = '{ findScenes(filter: {per_page: 5, sort: "id", direction: ASC}) { scenes { files { path } } } }'
    scenes = requests.post(f"{url}/graphql", json={"query": query}, timeout=5).json()["data"]["findScenes"]["scenes"]
    return [scene["files"][0]["path"] for scene in scenes]


def _state(data_dir):
    try:
        return json.loads((data_dir / "runstack.json").read_text())
    except FileNotFoundError:
        return None


@pytest.fixture
def stack(processes, tmp_path, demo_clips):
    """A running `manage.py runstack` on a free port, without REDIS_URL (so with the embedded Redis)."""
    shutil.copytree(demo_clips, tmp_path / "demo-media" / "clips", copy_function=os.link)
    env = _without_redis_url(processes.env)
    env.update(PORT=str(free_port()), DATA_DIR=str(tmp_path), JOB_CONCURRENCY="1", HEALTH_CHECK_INTERVAL_SECONDS="2")
    env["SECRET_KEY"] = str(settings.SECRET_KEY)  # sessions made by this test process stay valid there
    proc = processes.manage("runstack", env=env)
    url = f"http://127.0.0.1:{env['PORT']}"

    def serving():
        if proc.poll() is not None:
            raise AssertionError("runstack exited:\n" + processes.output(proc))
        try:
            return requests.get(url + "/login/", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or slow to answer under load
            return False

    wait_for(serving, timeout=60, message="runstack to serve /login/")
    return proc, url, tmp_path


@pytest.mark.processes
def test_runstack_supervises_every_process_and_stops_cleanly(stack, processes):
    proc, url, data_dir = stack
    # No Stash configured: demo mode, the built-in emulator is one more supervised child.
    hosts = {f"daemon:{name}" for name in known_daemons().split(", ")}
    expected = {"web", "worker", "health", "stash-emulator", *hosts}

    def every_child_listed():
        state = _state(data_dir)
        return state if state and set(state["processes"]) == expected else None

    try:
        state = wait_for(every_child_listed, message="every child in the state file")
    except AssertionError:
        raise AssertionError(f"state {_state(data_dir)}; runstack said:\n{processes.output(proc)}") from None
    children = state["processes"]
    assert all(_alive(pid) and _parent(pid) == proc.pid for pid in children.values())
    version = wait_for(lambda: _stash_version(state["stash_demo_url"]), message="the demo Stash emulator")
    assert version["version"].startswith("v")
    # The demo library's files are real videos in the data directory (for the built-in analyzer).
    demo_paths = _demo_file_paths(state["stash_demo_url"])
    assert len(demo_paths) == 5
    assert all(p.startswith(str(data_dir / "demo-media" / "library")) and os.path.isfile(p) for p in demo_paths)
    assert state["redis"]["url"].startswith("unix://")
    assert ping(state["redis"]["url"])
    # What an operator command needs to reach this stack's database (the hint of orchestrator.dbcheck).
    assert state["data_dir"] == str(data_dir) and state["database_url"] == "set"
    assert state["database"].startswith(("database ", "SQLite file "))

    # The health loop checks the stack: the demo Stash answers, and its worker heartbeats.
    from health.models import HealthCheck

    def healthy(name):
        return lambda: HealthCheck.objects.filter(name=name, state="ok").first()

    assert "demo mode" in wait_for(healthy("stash"), timeout=60, message="the Stash health check").reason
    wait_for(healthy("workers"), timeout=60, message="the workers health check")

    # A crashed child is restarted: a new worker pid appears and the supervisor says why.
    os.kill(children["worker"], signal.SIGKILL)

    def restarted_worker():
        pid = ((_state(data_dir) or {}).get("processes") or {}).get("worker")
        return pid if pid and pid != children["worker"] else None

    new = wait_for(restarted_worker, message="a restarted worker")
    assert _alive(new)
    output = processes.output(proc)
    assert "worker was killed by SIGKILL; restarting in 1 s" in output
    assert f"started worker (pid {new})" in output

    # Ctrl-C stops everything, Redis included, within 10 s and exits 0.
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=12) == 0
    assert time.monotonic() - started < 10
    every_pid = [
        children["web"],
        children["daemon:test"],
        children["stash-emulator"],
        children["health"],
        new,
        state["redis"]["pid"],
    ]
    wait_for(lambda: not any(_alive(pid) for pid in every_pid), timeout=2, message="every child gone")
    assert not (data_dir / "runstack.json").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/login/", timeout=1)


@pytest.mark.processes
def test_a_second_runstack_on_the_same_data_dir_is_refused(stack, processes):
    proc, _url, data_dir = stack
    env = _without_redis_url(processes.env)
    env.update(DATA_DIR=str(data_dir), PORT=str(free_port()))
    second = processes.manage("runstack", env=env)
    assert second.wait(timeout=30) != 0
    assert "Another runstack is already running" in processes.output(second)
    assert proc.poll() is None


def test_embedded_redis_starts_answers_and_stops(tmp_path):
    assert find_redis_server().name == "redis-server"
    redis = EmbeddedRedis(tmp_path)
    url = redis.start()
    try:
        assert url == f"unix://{tmp_path / 'redis.sock'}?db=0"
        assert ping(url)
    finally:
        redis.stop()
    assert redis.process.returncode is not None
    assert not ping(url)
    assert not (tmp_path / "redis.sock").exists()


def test_embedded_redis_is_restarted_on_the_same_url(tmp_path):
    redis = EmbeddedRedis(tmp_path)
    url = redis.start()
    try:
        redis.process.kill()
        redis.process.wait()
        assert redis.restart_if_dead()
        assert redis.url == url and ping(url)
    finally:
        redis.stop()


def test_backoff_grows_to_thirty_seconds():
    assert [backoff_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.mark.django_db
def test_ensureadmin_prints_a_login_once_and_stores_only_its_hash():
    out = StringIO()
    call_command("ensureadmin", stdout=out)
    text = out.getvalue()
    password = text.split("password:")[1].split()[0]
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert password not in admin.password

    again = StringIO()
    call_command("ensureadmin", stdout=again)
    assert again.getvalue() == ""
    assert User.objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
def test_ensureadmin_does_not_take_over_an_ordinary_users_name():
    User.objects.create_user("admin", password="ordinary-user-pw")
    out = StringIO()
    call_command("ensureadmin", stdout=out)
    assert "username: admin2" in out.getvalue()
    assert not User.objects.get(username="admin").is_superuser


def test_runstack_without_a_migrated_database_says_so(tmp_path):
    env = _without_redis_url(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}", DATA_DIR=str(tmp_path), PORT=str(free_port()))
    root = str(ROOT)
    result = subprocess.run(
        [sys.executable, "manage.py", "runstack"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert f"SQLite file {tmp_path / 'empty.sqlite3'}" in result.stderr
    assert not (tmp_path / "empty.sqlite3").exists()
    assert not (tmp_path / "redis.sock").exists()


@pytest.mark.processes
def test_live_updates_flow_through_the_embedded_redis(stack, user):
    from daemons import services
    from daemons.models import Daemon
    from tests.orchestrator.test_live_ws import open_socket, read_snapshot, receive_until, session_cookie

    proc, url, data_dir = stack
    daemon = Daemon.objects.get(name="test")
    services.update_configuration(daemon, {"interval_seconds": 0.2, "launch_jobs": False}, partial=True)
    with open_socket(url, "daemons", session_cookie(user)) as ws:
        read_snapshot(ws)
        services.start(daemon)  # the stack's host sees the desired state and pushes through its Redis
        pushed = receive_until(
            ws, lambda m: m["type"] == "daemon" and (m["daemon"]["current_status"] or "").startswith("Sleeping"), 15
        )
    assert pushed["daemon"]["actual_state"] == "running"
