"""Daemon operations shared by the pages, the API, the admin, the hosts and the daemons themselves."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from daemons import timeline
from daemons.models import (
    ActualState,
    Daemon,
    DaemonJobHistory,
    DaemonLog,
    DesiredState,
    JobAction,
    LogLevel,
    StatusLevel,
)
from jobs import services as job_services
from jobs.models import TERMINAL_STATUSES, Job
from orchestrator.live.signals import status_changed
from orchestrator.returning import update_returning


class LeaseLost(Exception):
    """The daemon's host no longer holds its lease (another host took it over): nothing was written."""


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
#
# `lease` (the host's lease token, daemons/lease.py) fences a write: it goes through only while that
# token holds the lease, checked in the same statement, and LeaseLost is raised otherwise. None (the
# pages, the API, the admin, tests of single steps) writes unconditionally.


def _where(daemon_id: int, lease: str | None) -> dict:
    return {"pk": daemon_id} if lease is None else {"pk": daemon_id, "lease_owner": lease}


def _fenced(written, lease: str | None):
    if lease is not None and not written:
        raise LeaseLost("This host no longer holds the daemon's lease")
    return written


def save_fields(daemon_id: int, lease: str | None = None, **fields):
    fields["updated_at"] = timezone.now()
    _fenced(Daemon.objects.filter(**_where(daemon_id, lease)).update(**fields), lease)
    # The fields may be F() expressions, which UPDATE … RETURNING does not take: the row is re-read.
    _changed(Daemon.objects.filter(pk=daemon_id).first())


def set_status(
    daemon_id: int,
    message,
    job_id=None,
    job_type=None,
    level=StatusLevel.OK,
    link=None,
    next_at=None,
    lease=None,
    extra=None,
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
        _where(daemon_id, lease),
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
    daemon = _fenced(daemon, lease)
    _changed(daemon)
    # Kept for the timeline after the push is on its way: the insert adds nothing to the status's latency.
    if daemon is not None and message is not None:
        timeline.record(daemon_id, now, message, level, job_id, job_type)


def set_next_at(daemon_id: int, next_at, lease: str | None = None, **extra):
    """Record when the daemon will say something next (one UPDATE … RETURNING, pushed like a status), with
    `extra` plain fields in the same write (a cycle's times)."""
    now = timezone.now()
    daemon = _update_returning(_where(daemon_id, lease), status_next_at=next_at, updated_at=now, **extra)
    _changed(_fenced(daemon, lease))


def update_row(daemon_id: int, lease: str | None = None, **fields):
    """Write some fields (plain values) and push the whole row (one UPDATE … RETURNING)."""
    daemon = _update_returning(_where(daemon_id, lease), updated_at=timezone.now(), **fields)
    _changed(_fenced(daemon, lease))


def _changed(daemon: Daemon | None):
    if daemon is not None:
        status_changed.send(sender=Daemon, instance=daemon)


def _update_returning(where: dict, **fields) -> Daemon | None:
    """Update some fields of a row and get the whole updated row back in the same statement,
    instead of a write followed by a re-read."""
    return next(iter(update_returning(Daemon, where, **fields)), None)


def hold_lease(daemon_id: int, lease: str | None):
    """Inside a transaction: lock the daemon's row if `lease` still holds it, else raise LeaseLost.

    SELECT … FOR UPDATE with the token in its WHERE (PostgreSQL; SQLite's IMMEDIATE transaction already
    holds the database's write lock) keeps the row locked until commit: a standby's takeover, an UPDATE
    of that row, comes either before (nothing here is written) or after the commit (it finds what was
    written)."""
    if lease is not None:
        held = Daemon.objects.select_for_update().filter(pk=daemon_id, lease_owner=lease).values_list("pk")
        _fenced(list(held), lease)


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


def clear_status(daemon_id: int, lease: str | None = None, **extra):
    save_fields(daemon_id, lease, **{**STATUS_CLEARED, **extra})
    if extra.get("actual_state") == ActualState.STOPPED:
        timeline.record_stop(daemon_id, timezone.now())


def add_log(daemon: Daemon, level: str, message: str, lease: str | None = None) -> DaemonLog:
    """Record a log line; its post_save pushes it to the daemon's page (daemons/live.py). With `lease`
    (a daemon loop's lines), only while that lease holds."""
    level = level.upper()
    if level not in LogLevel.values:
        level = LogLevel.INFO
    if lease is None:
        return DaemonLog.objects.create(daemon=daemon, level=level, message=message)
    with transaction.atomic():
        hold_lease(daemon.pk, lease)
        return DaemonLog.objects.create(daemon=daemon, level=level, message=message)


def add_job_history(daemon: Daemon, job, action: str, reason: str = "", lease: str | None = None):
    with transaction.atomic():
        hold_lease(daemon.pk, lease)
        return DaemonJobHistory.objects.create(
            daemon=daemon, job=job, job_uuid=job.pk, job_type=job.type, action=action, reason=reason
        )


def launch_job(daemon: Daemon, job_type: str, parameters: dict, reason: str = "", lease: str | None = None) -> Job:
    """Create a job for the daemon and its LAUNCHED row, in one transaction under its lease."""
    with transaction.atomic():
        hold_lease(daemon.pk, lease)
        job = job_services.create_job(job_type, parameters, created_by=daemon.name)
        DaemonJobHistory.objects.create(
            daemon=daemon, job=job, job_uuid=job.pk, job_type=job.type, action=JobAction.LAUNCHED, reason=reason
        )
    return job


def cancel_job(daemon: Daemon, job: Job, reason: str, lease: str | None = None) -> Job:
    """Cancel a job the daemon decided to stop, and record why, in one transaction under its lease."""
    with transaction.atomic():
        hold_lease(daemon.pk, lease)
        job = job_services.cancel_job(job)
        DaemonJobHistory.objects.create(
            daemon=daemon, job=job, job_uuid=job.pk, job_type=job.type, action=JobAction.CANCELLED, reason=reason
        )
    return job


OUTCOME_ACTIONS = (JobAction.FINISHED, JobAction.FAILED, JobAction.CANCELLED)


def unrecorded_outcomes(daemon_id: int, launched_before, exclude=()) -> list[Job]:
    """Jobs the daemon launched before `launched_before` that have ended without an outcome row in its
    history (ended while no host watched them: between two hosts, or after a loop stopped watching)."""
    outcome = DaemonJobHistory.objects.filter(
        daemon_id=daemon_id, job_uuid=OuterRef("job_uuid"), action__in=OUTCOME_ACTIONS
    )
    launched = (
        DaemonJobHistory.objects.filter(
            daemon_id=daemon_id,
            action=JobAction.LAUNCHED,
            created_at__lt=launched_before,
            job__status__in=TERMINAL_STATUSES,
        )
        .exclude(job_uuid__in=list(exclude))
        .exclude(Exists(outcome))
        .select_related("job")
        .order_by("created_at")
    )
    return [entry.job for entry in launched]


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
    """Delete log lines past DAEMON_LOG_RETENTION_DAYS and timeline events past
    DAEMON_TIMELINE_RETENTION_DAYS; returns the number of log lines deleted."""
    cutoff = timezone.now() - timedelta(days=settings.DAEMON_LOG_RETENTION_DAYS)
    deleted, _ = DaemonLog.objects.filter(daemon_id=daemon_id, created_at__lt=cutoff).delete()
    timeline.purge(daemon_id, timezone.now() - timedelta(days=settings.DAEMON_TIMELINE_RETENTION_DAYS))
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
