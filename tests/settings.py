"""Settings for the test run: the project settings, with test defaults in the environment.

pytest-django imports this (pyproject.toml names it) before any conftest runs, so this is where the
defaults must be set. Tests use the real PostgreSQL and Redis unless DATABASE_URL / REDIS_URL say
otherwise (`make test` runs the suite on SQLite too). Subprocesses started by the tests inherit this environment.
"""

import os
import secrets

RUN_ID = os.environ.setdefault("TEST_RUN_ID", f"{os.getpid()}")
# Under pytest-xdist each worker is a process of its own but inherits the controller's environment, so the
# ids the controller derived above would be shared: the worker's id (gw0, gw1...) is appended once, and the
# test database, the SQLite test file, the channel prefix and the testproc log names are the worker's own.
# TEST_RUN_WORKER records it, so the subprocesses a worker starts (which import this module again) keep
# the worker's ids instead of suffixing them twice.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("TEST_RUN_WORKER") != _WORKER:
    os.environ["TEST_RUN_WORKER"] = _WORKER
    for _name in ("TEST_RUN_ID", "TEST_DATABASE_NAME", "CHANNEL_PREFIX"):
        if _name in os.environ:
            os.environ[_name] = f"{os.environ[_name]}_{_WORKER}"
    RUN_ID = os.environ["TEST_RUN_ID"]
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orchestrator")
os.environ.setdefault("TEST_DATABASE_NAME", f"test_orchestrator_{RUN_ID}")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every test run gets its own channel-layer namespace on the shared Redis.
os.environ.setdefault("CHANNEL_PREFIX", f"orchtest{RUN_ID}{secrets.token_hex(3)}")
os.environ.setdefault("DAEMON_LEASE_SECONDS", "3")
os.environ.setdefault("DAEMON_HEARTBEAT_SECONDS", "0.5")
os.environ.setdefault("DAEMON_CONTROL_POLL_SECONDS", "0.2")
os.environ.setdefault("DAEMON_RESTART_BACKOFF_MAX_SECONDS", "1")
os.environ.setdefault("JOB_POLL_SECONDS", "0.1")
os.environ.setdefault("JOB_HEARTBEAT_SECONDS", "0.5")
os.environ.setdefault("JOB_STALE_SECONDS", "3")
os.environ.setdefault("STASH_RETRY_FIRST_SECONDS", "0.5")
os.environ.setdefault("STASH_JOB_POLL_SECONDS", "0.1")

from orchestrator.settings import *  # noqa: E402,F403

# Cheap password hashing (the same algorithm): see tests/hashers.py.
PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]

# The pytest process's own sessions are told apart from those of the processes it starts (which import
# this module again, with their own pid): fault tests end "every other session" of the processes under
# test, never the test process's own (tests/faults.py), whichever thread or context opened them.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = f"pytest-{os.getpid()}"  # noqa: F405
