"""Shared fixtures. Tests run against real PostgreSQL and Redis by default (DATABASE_URL / REDIS_URL);
`make test` also runs them on SQLite, the default path. Processes under test are real `manage.py`
subprocesses pointed at the test database; every PID started is killed at teardown."""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = os.environ["TEST_RUN_ID"]  # set by tests/settings.py


def wait_for(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url_for_test_db() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or "postgres"
    host = cfg.get("HOST") or "127.0.0.1"
    port = cfg.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{cfg['NAME']}"


@pytest.fixture
def proc_env(transactional_db):
    """Environment for subprocesses: the test database, the test channel prefix, fast timings."""
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url_for_test_db()
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Processes:
    """Starts manage.py subprocesses and kills exactly those (by PID) at teardown."""

    def __init__(self, env):
        self.env = env
        self.procs: list[subprocess.Popen] = []

    def manage(self, *args, env=None, **kwargs) -> subprocess.Popen:
        return self.start([sys.executable, str(ROOT / "manage.py"), *args], env=env, **kwargs)

    def start(self, argv, env=None, **kwargs) -> subprocess.Popen:
        log = open(ROOT / "data" / f"testproc-{RUN_ID}-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        proc.log_path = log.name
        self.procs.append(proc)
        return proc

    def output(self, proc) -> str:
        return Path(proc.log_path).read_text()

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(proc_env):
    procs = Processes(proc_env)
    yield procs
    procs.stop_all()


def start_daphne(processes, env=None) -> str:
    """A real daphne serving the project on a free port (with `env`, e.g. a setting changed); its URL once
    it answers."""
    import requests

    port = free_port()
    proc = processes.start(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "orchestrator.asgi:application"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise AssertionError("daphne exited:\n" + processes.output(proc))
        try:
            return requests.get(url + "/login/", timeout=5).status_code > 0
        except requests.RequestException:  # not listening yet, or slow to answer under load
            return False

    wait_for(up, timeout=30, message="daphne to serve")
    return url


@pytest.fixture
def daphne_server(processes):
    """A real daphne serving the project on a free port, against the test database."""
    return start_daphne(processes)


@pytest.fixture
def user(db):
    """`db`, not `transactional_db`: a page test runs in a transaction that is rolled back, which costs
    nothing, where a flush of every table after each test cost 1-2 s on PostgreSQL. A test that needs
    committed rows (one that starts processes, through proc_env) still asks for transactional_db, and then
    pytest-django runs it transactionally with this fixture too."""
    from django.contrib.auth.models import User

    # Staff: it can change things (orchestrator/roles.py). Tests of read-only accounts make their own.
    return User.objects.create_user("alice", password="correct-horse-battery", is_staff=True)


@pytest.fixture
def browser(client, user):
    """A client logged in as an ordinary user."""
    client.force_login(user)
    return client


@pytest.fixture
def daemon(db):
    """The test daemon's row (every registered kind gets its row, as after a migrate). `db` as in `user`."""
    from daemons import services
    from daemons.models import Daemon

    services.ensure_daemon_rows()
    return Daemon.objects.get(name="test")


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """pytest-django would append the xdist worker's id (_gw0) to the test database names; tests/settings.py
    already made them the worker's own (from TEST_RUN_ID), so the names stay as the settings say."""


@pytest.fixture(scope="session", autouse=True)
def _let_the_test_database_be_dropped(django_db_setup, django_db_blocker):
    """Processes killed by the tests can leave a backend behind for a moment, and PostgreSQL refuses to
    drop a database in use: end those sessions before pytest-django drops it."""
    yield
    from django.db import connection

    # Only a test database of ours is touched (the configured database need not even exist).
    if connection.vendor != "postgresql" or not str(connection.settings_dict["NAME"]).startswith("test_"):
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


class Emulator:
    """The Stash emulator over real HTTP, served from a thread of the test process."""

    def __init__(self, store, server):
        self.store = store
        self.server = server
        self.url = server.url

    def control(self, name: str, body: dict | None = None) -> dict:
        """A test control over HTTP, as a test would drive a Stash running elsewhere."""
        import requests

        response = requests.post(f"{self.url}/_emulator/{name}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def advance_clock(self, seconds: float):
        """Move Stash's (frozen) clock on, so edits are clearly newer than the last sync."""
        self.store.set_clock(advance_seconds=seconds)


@pytest.fixture
def stash_emulator(monkeypatch, settings):
    """A seeded emulator (200 scenes, Stash in America/Los_Angeles, frozen clock), and STASH_URL pointing
    at it for this process (settings) and the subprocesses the test starts (through proc_env, which copies
    os.environ)."""
    from stash.emulator.seed import seed_library
    from stash.emulator.server import EmulatorServer
    from stash.emulator.store import Store

    store = Store(zone="America/Los_Angeles", scan_seconds=0.3, generate_seconds=0.5)
    store.set_clock("2026-03-01T12:00:00-08:00")
    seed_library(store, scenes=200, seed=3)
    server = EmulatorServer(store)
    server.start()
    monkeypatch.setenv("STASH_URL", server.url)
    monkeypatch.delenv("STASH_API_KEY", raising=False)
    settings.STASH_URL, settings.STASH_API_KEY = server.url, ""
    yield Emulator(store, server)
    server.stop()


def known_daemons() -> str:
    """How error messages list the registered daemon names."""
    from daemons.registry import REGISTRY

    return ", ".join(sorted(REGISTRY))


@pytest.fixture(scope="session")
def demo_clips(tmp_path_factory):
    """Demo mode's clips (stash.emulator.demo_media), made once per test run: a few seconds of ffmpeg.
    Copy them (as hard links) into DATA_DIR/demo-media/clips to spare a demo stack from making them."""
    from stash.emulator.demo_media import make_clips

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        media_dir = tmp_path_factory.mktemp("demo-media")
        make_clips(str(media_dir))
        return media_dir / "clips"
    # Under pytest-xdist the workers share one set, in the run's common temporary folder (the parent of
    # each worker's own): the first worker to need them makes them under a lock, the others wait and reuse
    # them. ffmpeg is CPU-bound, and every worker making its own set cost minutes on 2 cores.
    media_dir = tmp_path_factory.getbasetemp().parent / "demo-media"
    media_dir.mkdir(exist_ok=True)
    with open(media_dir.parent / "demo-media.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        make_clips(str(media_dir))  # makes only the clips that are missing
    return media_dir / "clips"
