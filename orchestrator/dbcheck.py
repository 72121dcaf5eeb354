"""Is the database there and migrated? The one check of the commands that need it (runstack, rundaemon,
runjobs, daemonctl, ensureadmin).

An operator who runs a command without the running stack's DATA_DIR or DATABASE_URL must learn which
database the command looked at and how to point it at the right one, in one line, and the command
must leave nothing behind: connecting to a missing SQLite file would create it, so the file is looked
for before any connection is opened.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connections

from orchestrator.envtools import env_str

HINT = (
    "run the command with the running stack's DATA_DIR and DATABASE_URL (its data/runstack.json names "
    "them), or create the database with `manage.py migrate`"
)


def describe(alias: str = "default") -> str:
    """The database as an operator recognises it, without its password."""
    db = settings.DATABASES[alias]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {db['NAME']}"
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"database {db['NAME']!r} on {host}{port}"


def source() -> str:
    """Where the settings took the database from."""
    return f"DATA_DIR={settings.DATA_DIR}, DATABASE_URL {'set' if env_str('DATABASE_URL') else 'not set'}"


def problem(alias: str = "default") -> str | None:
    """None when the database exists and has every migration applied; else one line saying what is wrong."""
    db = settings.DATABASES[alias]
    where = f"{describe(alias)} ({source()})"
    if db["ENGINE"].endswith("sqlite3") and not Path(db["NAME"]).is_file():
        return f"No database: {where} does not exist; {HINT}."
    # Imported here: only the commands that check load the migration framework.
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[alias])
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"The {where} cannot be used ({reason}); {HINT}."
    if unapplied:
        return f"The {where} has {len(unapplied)} unapplied migrations; {HINT}."
    return None


def require_database(alias: str = "default"):
    """Raise CommandError (exit status 1, one line) unless the database exists and is migrated."""
    message = problem(alias)
    if message:
        connections[alias].close()  # SQLite then removes its -wal/-shm files: the folder is left as found
        raise CommandError(message)
