"""Per-process database settings for the long-running roles (daemon hosts, job workers)."""

from django.conf import settings


def tag_connection(role: str, *, relaxed_commits: bool = False, idle_in_transaction_seconds: float | None = None):
    """Name the process's PostgreSQL connections (pg_stat_activity shows who is who); with
    `relaxed_commits`, do not wait for the WAL flush on commit; with `idle_in_transaction_seconds`,
    let PostgreSQL end a session that leaves a transaction open and idle that long. Call it before the
    first query.

    Daemon hosts and workers write statuses, heartbeats and progress many times a second; waiting for
    the WAL flush on each commit was most of update_status()'s cost on ordinary disks. If PostgreSQL
    itself crashes, the last fraction of a second of those writes can be lost (never corrupted): a
    status or progress value is re-written moments later, and a job whose final state was lost is
    recovered like any job of a dead worker. User actions (the web process) keep full durability.

    A daemon host's fenced writes lock its Daemon row until commit (daemons/services.hold_lease). A host
    frozen inside one (SIGSTOP, a VM paused, swap) would keep that lock, and the standby's takeover, an
    UPDATE of the row, would wait for it forever. With the idle timeout PostgreSQL ends the frozen
    session instead: its transaction rolls back (the fenced write never happens), the lock goes, the
    standby takes over, and the old host, resumed, finds its connection gone and its lease lost.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        options = db.setdefault("OPTIONS", {})
        options["application_name"] = f"orchestrator:{role}"[:63]
        flags = []
        if relaxed_commits:
            flags.append("-c synchronous_commit=off")
        if idle_in_transaction_seconds:
            flags.append(f"-c idle_in_transaction_session_timeout={max(1, round(idle_in_transaction_seconds * 1000))}")
        if flags:
            options["options"] = " ".join(flags)
