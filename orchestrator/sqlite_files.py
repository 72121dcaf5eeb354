"""The SQLite database file holds secrets (the Stash API key, qBittorrent's password) and sessions, so it
is made readable by its owner only, like data/secret_key. SQLite creates the -wal and -shm files with the
database file's permissions; those left from an older, more open, run are narrowed too. Runs on every
new connection (three stat-sized calls), since any process may be the one that creates the file."""

import os
import stat

from django.db.backends.signals import connection_created

PRIVATE = 0o600


def make_private(sender, connection, **kwargs):
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, name + "-wal", name + "-shm"):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                os.chmod(path, PRIVATE)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours to change (another user's file): leave it, the open worked
            continue


def connect():
    connection_created.connect(make_private, dispatch_uid="orchestrator.sqlite_files")
