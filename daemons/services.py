"""Daemon operations shared by the pages, the API, the admin, the hosts and the daemons themselves."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState, LogLevel, StatusLevel
from jobs.models import Job
from orchestrator.live.signals import status_changed
from orchestrator.returning import update_returning


class ConfigError(Exception):
    """An invalid configuration; `errors` maps each field to its messages. Nothing was saved."""

    def __init__(self, errors: dict):
        super().__init__("Invalid configuration")
        self.errors = errors


# --- rows ------------------------------------------------------------------------------------


def ensure_daemon_rows(using: str = "default"):
    """Give every registered kind its row (with its typed default configuration)."""
    from daemons.registry import all_kinds

    for kind, cls in all_kinds().items():
        daemon, created = Daemon.objects.using(using).get_or_create(
            name=kind,
            defaults={
                "kind": kind,
                "configuration": cls.config_schema.defaults(),
                "auto_start": cls.default_auto_start,
            },
        )
        if not created:
            # A kind that gained settings since the row was written gets their defaults.
            missing = {k: v for k, v in cls.config_schema.defaults().items() if k not in daemon.configuration}
            if missing:
                daemon.configuration = {**daemon.configuration, **missing}
                daemon.save(using=using, update_fields=["configuration", "updated_at"])


def unknown_daemon_message(name: str) -> str:
    """The answer to an unknown daemon name, everywhere one can be given (CLI, API)."""
    known = ", ".join(Daemon.objects.order_by("name").values_list("name", flat=True)) or "(none)"
    return f"Unknown daemon {name!r}. Known daemons: {known}"


def schema_for(daemon: Daemon):
    from daemons.registry import get_kind

    cls = get_kind(daemon.kind)
    return cls.config_schema if cls else None


def effective_config(daemon: Daemon) -> dict:
    """The stored configuration over the kind's defaults, validated (invalid stored keys fall back)."""
    schema = schema_for(daemon)
    stored = daemon.configuration if isinstance(daemon.configuration, dict) else {}
    merged = {**schema.defaults(), **{k: v for k, v in stored.items() if k in schema.defaults()}}
    clean, errors = schema.validate(merged)
    for name in errors:
        clean[name] = schema.defaults()[name]
    return clean


# --- writes (each sends status_changed with the whole row; daemons/live.py publishes it) --------


def save_fields(daemon_id: int, **fields):
    fields["updated_at"] = timezone.now()
    Daemon.objects.filter(pk=daemon_id).update(**fields)
    # The fields may be F() expressions, which UPDATE … RETURNING does not take: the row is re-read.
    _changed(Daemon.objects.filter(pk=daemon_id).first())


def set_status(
    daemon_id: int, message, job_id=None, job_type=None, level=StatusLevel.OK, link=None, next_at=None, extra=None
):
    """The hot path of update_status(): one UPDATE … RETURNING yields the whole row to push.

    `link` is (url, label) or None. `next_at` is the status's deadline when the caller knows it; None
    keeps the deadline on record (the step's end records the new one, see BaseDaemon.run_step).
    `extra`: more plain fields for the same write (a cycle's times, daemons/schedule.py)."""
    now = timezone.now()
    url, label = link or (None, None)
    fields = {"status_next_at": next_at} if next_at is not None else {}
    fields.update(extra or {})
    daemon = _update_returning(
        daemon_id,
        current_status=message[:500] if message is not None else None,
        current_job_id=job_id,
        current_job_type=job_type,
        status_updated_at=now if message is not None else None,
        status_level=level if message is not None else None,
        status_link_url=url,
        status_link_label=label,
        updated_at=now,
        **fields,
    )
    _changed(daemon)


def set_next_at(daemon_id: int, next_at, **extra):
    """Record when the daemon will say something next (one UPDATE … RETURNING, pushed like a status), with
    `extra` plain fields in the same write (a cycle's times)."""
    _changed(_update_returning(daemon_id, status_next_at=next_at, updated_at=timezone.now(), **extra))


def update_row(daemon_id: int, **fields):
    """Write some fields (plain values) and push the whole row (one UPDATE … RETURNING)."""
    _changed(_update_returning(daemon_id, updated_at=timezone.now(), **fields))


def _changed(daemon: Daemon | None):
    if daemon is not None:
        status_changed.send(sender=Daemon, instance=daemon)


def _update_returning(daemon_id: int, **fields) -> Daemon | None:
    """Update some fields of a row and get the whole updated row back in the same statement,
    instead of a write followed by a re-read."""
    return next(iter(update_returning(Daemon, {"pk": daemon_id}, **fields)), None)


STATUS_CLEARED = {
    "current_status": None,
    "current_job_id": None,
    "current_job_type": None,
    "status_updated_at": None,
    "status_next_at": None,
    "status_level": None,
    "status_link_url": None,
    "status_link_label": None,
    "cycle_started_at": None,  # a stopped or crashed loop has no cycle under way (daemons/schedule.py)
}


def clear_status(daemon_id: int, **extra):
    save_fields(daemon_id, **{**STATUS_CLEARED, **extra})


def add_log(daemon: Daemon, level: str, message: str) -> DaemonLog:
    """Record a log line; its post_save pushes it to the daemon's page (daemons/live.py)."""
    level = level.upper()
    if level not in LogLevel.values:
        level = LogLevel.INFO
    return DaemonLog.objects.create(daemon=daemon, level=level, message=message)


def add_job_history(daemon: Daemon, job, action: str, reason: str = "") -> DaemonJobHistory:
    return DaemonJobHistory.objects.create(
        daemon=daemon, job=job, job_uuid=job.pk, job_type=job.type, action=action, reason=reason
    )


# --- control ---------------------------------------------------------------------------------


def start(daemon: Daemon) -> Daemon:
    save_fields(daemon.pk, desired_state=DesiredState.RUNNING)
    daemon.refresh_from_db()
    return daemon


def stop(daemon: Daemon) -> Daemon:
    save_fields(daemon.pk, desired_state=DesiredState.STOPPED)
    daemon.refresh_from_db()
    return daemon


def restart(daemon: Daemon) -> Daemon:
    """Stop and start the loop (a stopped daemon is simply started)."""
    save_fields(daemon.pk, desired_state=DesiredState.RUNNING, restart_requested=F("restart_requested") + 1)
    daemon.refresh_from_db()
    return daemon


# What the bulk actions answer when they find nothing to act on (the page, the API and daemonctl).
NOTHING_TO_DO = {
    "start": "No daemons to start: every daemon is already running.",
    "stop": "No running daemons to stop.",
    "restart": "No running daemons to restart.",
}


def start_all() -> list[str]:
    """Start every stopped daemon, whatever its auto-start setting (auto-start is what runstack starts)."""
    return [start(d).name for d in Daemon.objects.filter(desired_state=DesiredState.STOPPED)]


def stop_all() -> list[str]:
    return [stop(d).name for d in Daemon.objects.filter(desired_state=DesiredState.RUNNING)]


def restart_all() -> list[str]:
    return [restart(d).name for d in Daemon.objects.filter(desired_state=DesiredState.RUNNING)]


def apply_auto_start() -> list[str]:
    """At stack start: the stopped daemons with auto-start on are set to run (the others stay stopped)."""
    targets = Daemon.objects.filter(auto_start=True, desired_state=DesiredState.STOPPED)
    return [start(d).name for d in targets]


def set_auto_start(daemon: Daemon, value: bool) -> Daemon:
    """Toggle auto-start only; the configuration is never touched."""
    save_fields(daemon.pk, auto_start=bool(value))
    daemon.refresh_from_db()
    return daemon


def update_configuration(daemon: Daemon, data, *, partial: bool = False) -> Daemon:
    """Validate and save a configuration; a running daemon picks it up without restarting its process.

    `partial` merges the given keys into the current configuration. Raises ConfigError, saving nothing.
    """
    schema = schema_for(daemon)
    if partial and isinstance(data, dict):
        data = {**effective_config(daemon), **data}
    clean, errors = schema.validate(data)
    if errors:
        raise ConfigError(errors)
    save_fields(daemon.pk, configuration=clean, config_version=F("config_version") + 1)
    daemon.refresh_from_db()
    return daemon


def reset_configuration(daemon: Daemon) -> Daemon:
    return update_configuration(daemon, schema_for(daemon).defaults())


def purge_old_logs(daemon_id: int) -> int:
    cutoff = timezone.now() - timedelta(days=settings.DAEMON_LOG_RETENTION_DAYS)
    deleted, _ = DaemonLog.objects.filter(daemon_id=daemon_id, created_at__lt=cutoff).delete()
    return deleted


def host_alive(daemon: Daemon, now=None) -> bool:
    """Whether a host holds the daemon's lease and heartbeats (a beat within DAEMON_LEASE_SECONDS)."""
    if not daemon.lease_owner or not daemon.heartbeat_at:
        return False
    now = now or timezone.now()
    return (now - daemon.heartbeat_at).total_seconds() < settings.DAEMON_LEASE_SECONDS


def is_stale(daemon: Daemon, now=None) -> bool:
    """Running, but overdue: more than DAEMON_STALE_AFTER_SECONDS (the grace) past the deadline its status
    set (`status_next_at`), or its host's heartbeat is late. A daemon sleeping as told is never stale,
    however long it sleeps, nor is a paused one (unless its host is gone). static/js/live.js applies the
    same rule between pushes."""
    if daemon.actual_state != ActualState.RUNNING:
        return False
    now = now or timezone.now()
    if not host_alive(daemon, now):
        return True
    if daemon.status_next_at is None or daemon.paused_at is not None:
        return False  # a paused daemon waits for Resume, not for a deadline (daemons/pause.py)
    return (now - daemon.status_next_at).total_seconds() > settings.DAEMON_STALE_AFTER_SECONDS


def _uuid(value: str) -> uuid.UUID | None:
    # A status may name a job by any string (the field is free text); only a UUID can be a Job.
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def attach_current_jobs(daemons: list[Daemon]) -> list[Daemon]:
    """Set `current_job` on each daemon (the Job its status links to, or None), in one query; pages show
    its progress."""
    ids = [_uuid(d.current_job_id) for d in daemons if d.current_job_id]
    ids = [pk for pk in ids if pk is not None]
    jobs = {str(job.pk): job for job in Job.objects.filter(pk__in=ids)} if ids else {}
    for daemon in daemons:
        daemon.current_job = jobs.get(daemon.current_job_id or "")
    return daemons
