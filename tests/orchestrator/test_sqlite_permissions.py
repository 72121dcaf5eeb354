"""The SQLite database holds secrets (API keys, passwords) and sessions: it and its -wal/-shm files are
readable by their owner only (0600), like data/secret_key, whatever the umask."""

import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import os
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from stash.connection.models import StashSettings
StashSettings(url="http://stash:9999", api_key="k" * 20).save()
name = connection.settings_dict["NAME"]
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    for suffix in ("", "-wal", "-shm"):
        path = str(name) + suffix
        print(suffix or "db", oct(os.stat(path).st_mode & 0o777) if os.path.exists(path) else "missing")
"""


def test_the_database_and_its_wal_files_are_private(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{database}",
        "DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: __import__("os").umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    modes = dict(line.split() for line in done.stdout.splitlines() if line.startswith(("db ", "-wal ", "-shm ")))
    assert modes == {"db": "0o600", "-wal": "0o600", "-shm": "0o600"}, modes
