"""Settings for the test run: the project settings, with test defaults in the environment.

pytest-django imports this (pyproject.toml names it) before any conftest runs, so this is where the
defaults must be set. Tests use the real PostgreSQL and Redis unless DATABASE_URL / REDIS_URL say
otherwise (`make test` runs the suite on SQLite too). Subprocesses started by the tests inherit this environment.
"""

import os
import secrets

RUN_ID = os.environ.setdefault("TEST_RUN_ID", f"{os.getpid()}")
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
