"""Per-process database settings for the long-running roles (daemon hosts, job workers)."""

from django.conf import settings


def tag_connection(role: str, *, relaxed_commits: bool = False):
    """Name the process's PostgreSQL connections (pg_stat_activity shows who is who); with
    `relaxed_commits`, do not wait for the WAL flush on commit. Call it before the first query.

    Daemon hosts and workers write statuses, heartbeats and progress many times a second; waiting for
    the WAL flush on each commit was most of update_status()'s cost on ordinary disks. If PostgreSQL
    itself crashes, the last fraction of a second of those writes can be lost (never corrupted): a
    status or progress value is re-written moments later, and a job whose final state was lost is
    recovered like any job of a dead worker. User actions (the web process) keep full durability.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        options = db.setdefault("OPTIONS", {})
        options["application_name"] = f"orchestrator:{role}"[:63]
        if relaxed_commits:
            options["options"] = "-c synchronous_commit=off"
