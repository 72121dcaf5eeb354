"""tests/settings.py gives each pytest-xdist worker its own ids (test database, SQLite file, channel prefix,
log names), and the subprocesses a worker starts keep the worker's ids instead of suffixing them again."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SHOW = (
    "import json, os, tests.settings as s; "
    "print(json.dumps({k: os.environ.get(k) for k in ('TEST_RUN_ID', 'TEST_DATABASE_NAME', 'CHANNEL_PREFIX')}"
    " | {'sqlite': str(s.DATA_DIR / f'test-{s.RUN_ID}.sqlite3')}))"
)


def settings_env(env: dict) -> dict:
    """The ids tests/settings.py leaves in the environment of a fresh process started with `env`."""
    out = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def controller_env() -> dict:
    """An environment as an xdist controller leaves it: the settings imported once, without a worker id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "CHANNEL_PREFIX", "PYTEST_XDIST"))}
    env["TEST_RUN_ID"] = "4242"
    env.update(settings_env(env))
    env.pop("sqlite")
    return env


def test_each_worker_gets_ids_of_its_own():
    base = controller_env()
    gw0 = settings_env(base | {"PYTEST_XDIST_WORKER": "gw0"})
    gw1 = settings_env(base | {"PYTEST_XDIST_WORKER": "gw1"})

    assert gw0["TEST_RUN_ID"] == "4242_gw0" and gw1["TEST_RUN_ID"] == "4242_gw1"
    assert gw0["TEST_DATABASE_NAME"] == "test_orchestrator_4242_gw0"
    for name in ("TEST_DATABASE_NAME", "CHANNEL_PREFIX", "sqlite"):
        assert len({base.get(name), gw0[name], gw1[name]}) == 3, name


def test_a_workers_subprocess_keeps_the_workers_ids():
    base = controller_env()
    worker = settings_env(base | {"PYTEST_XDIST_WORKER": "gw1"})
    # What a subprocess started by that worker inherits: the worker's environment after the settings ran.
    inherited = base | {"PYTEST_XDIST_WORKER": "gw1", "TEST_RUN_WORKER": "gw1"} | worker
    inherited.pop("sqlite")

    assert settings_env(inherited) == worker
