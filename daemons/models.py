from typing import NamedTuple

from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from jobs.models import Job
from orchestrator.durations import human_duration
from orchestrator.paths import daemon_path, job_path


class DesiredState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class ActualState(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    RUNNING = "running", "Running"
    ERROR = "error", "Error"


class NextCheck(NamedTuple):
    iso: str  # for live.js, which counts down to it
    clock: str  # "19:25", in TIME_ZONE
    words: str  # "4 min" from now


class StatusLevel(models.TextChoices):
    """How a status reads at a glance (the colour of its dot)."""

    OK = "ok", "OK"  # working: checking, launching, watching a job
    WAITING = "waiting", "Waiting"  # idle as told, until its next check
    WARNING = "warning", "Warning"  # needs a person (not configured, credentials refused)
    ERROR = "error", "Error"  # failing (unreachable, crashed); retrying


class PauseMode(models.TextChoices):
    """How a paused daemon holds (daemons/pause.py)."""

    SOFT = "soft", "Soft"  # finishes what it watches, starts nothing new
    HARD = "hard", "Hard"  # also stops its running job (generation: Stash's stopJob); restarts it on resume


class Daemon(models.Model):
    """One long-lived daemon. Its host process (`rundaemon <name>`) follows `desired_state`."""

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=100)
    desired_state = models.CharField(max_length=20, choices=DesiredState.choices, default=DesiredState.STOPPED)
    actual_state = models.CharField(max_length=20, choices=ActualState.choices, default=ActualState.STOPPED)
    auto_start = models.BooleanField(default=False, help_text="Start this daemon whenever the stack starts.")
    configuration = models.JSONField(default=dict, blank=True)
    # Bumped on every saved configuration and on every Restart request; the host compares them with what it
    # last applied, so changes reach a running daemon without a process restart.
    config_version = models.PositiveIntegerField(default=0)
    restart_requested = models.PositiveIntegerField(default=0)

    # NULL means "no status": the daemon is stopped (DESIGN §3 clears the status fields on stop).
    current_status = models.CharField(max_length=500, blank=True, null=True)  # noqa: DJ001
    current_job_id = models.CharField(max_length=36, blank=True, null=True)  # noqa: DJ001
    current_job_type = models.CharField(max_length=100, blank=True, null=True)  # noqa: DJ001
    status_updated_at = models.DateTimeField(blank=True, null=True)
    # When the daemon will say something next at the latest (the end of its wait); overdue means stale.
    status_next_at = models.DateTimeField(blank=True, null=True)
    status_level = models.CharField(max_length=10, choices=StatusLevel.choices, blank=True, null=True)  # noqa: DJ001
    # A page the status points to besides its job (the settings to fix, the plans to review).
    status_link_url = models.CharField(max_length=200, blank=True, null=True)  # noqa: DJ001
    status_link_label = models.CharField(max_length=100, blank=True, null=True)  # noqa: DJ001

    # Pause (daemons/pause.py): set by Pause, cleared by Resume; kept across restarts of host and stack.
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=150, blank=True)
    pause_mode = models.CharField(max_length=10, choices=PauseMode.choices, blank=True)
    # Bumped by "Run now"; the host compares it with what it last applied (like restart_requested).
    run_now_requested = models.PositiveIntegerField(default=0)
    # The schedule (daemons/schedule.py): the cycle under way, if any, and the last finished one.
    cycle_started_at = models.DateTimeField(null=True, blank=True)
    last_cycle_started_at = models.DateTimeField(null=True, blank=True)
    last_cycle_ended_at = models.DateTimeField(null=True, blank=True)

    lease_owner = models.CharField(max_length=64, blank=True)
    lease_host = models.CharField(max_length=255, blank=True)
    lease_pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return daemon_path(self.name)

    @property
    def display_name(self) -> str:
        from daemons.registry import get_kind

        kind = get_kind(self.kind)
        return kind.title if kind else self.name

    @property
    def description(self) -> str:
        """What the daemon does, in one line (its kind's description)."""
        from daemons.registry import get_kind

        kind = get_kind(self.kind)
        return kind.description if kind else ""

    @property
    def next_check_at(self):
        """The deadline of the current status, or None when there is none to show: stopped, or the step
        that wrote the status is still under way (its deadline was set before the status)."""
        if self.status_next_at is None or self.status_updated_at is None:
            return None
        return self.status_next_at if self.status_next_at >= self.status_updated_at else None

    @cached_property
    def next_check(self) -> "NextCheck | None":
        """`next_check_at` as the status fragment shows it, computed once per render (fragments are
        rendered on every status write, so the template reads plain strings, not date filters)."""
        at = self.next_check_at
        if at is None:
            return None
        words = human_duration((at - timezone.now()).total_seconds())
        return NextCheck(at.isoformat(), timezone.localtime(at).strftime("%H:%M"), words)

    @property
    def dot_css(self) -> str:
        """The modifier of the status dot's CSS class (dot-<modifier>): the status's level while the daemon
        runs, the state otherwise."""
        if self.actual_state == ActualState.ERROR:
            return StatusLevel.ERROR
        if self.actual_state != ActualState.RUNNING:
            return "idle"
        return self.status_level or StatusLevel.OK

    @property
    def state_label(self) -> str:
        """The state pages show: where the daemon is, read against where it should be."""
        return self._state_badge[0]

    @property
    def state_css(self) -> str:
        """The modifier of that label's CSS class (state-<modifier>)."""
        return self._state_badge[1]

    @property
    def _state_badge(self) -> tuple[str, str]:
        wanted = self.desired_state == DesiredState.RUNNING
        if self.actual_state == ActualState.RUNNING:
            return ("Running", "running") if wanted else ("Stopping…", "stopping")
        if self.actual_state == ActualState.ERROR:
            return ("Error — restarting", "error") if wanted else ("Error", "error")
        return ("Starting…", "starting") if wanted else ("Stopped", "stopped")

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def supports_hard_pause(self) -> bool:
        """Whether its kind may stop its running job for a hard pause (daemons/pause.py)."""
        from daemons.registry import get_kind

        kind = get_kind(self.kind)
        return bool(kind and getattr(kind, "supports_hard_pause", False))

    @property
    def current_job_url(self):
        if not self.current_job_id:
            return None
        return job_path(self.current_job_id)

    def to_state(self) -> dict:
        """The whole current state, as pushed to live pages and returned by the API."""
        return {
            "name": self.name,
            "kind": self.kind,
            "display_name": self.display_name,
            "desired_state": self.desired_state,
            "actual_state": self.actual_state,
            "auto_start": self.auto_start,
            "current_status": self.current_status,
            "current_job_id": self.current_job_id,
            "current_job_type": self.current_job_type,
            "current_job_url": self.current_job_url,
            "status_updated_at": _iso(self.status_updated_at),
            "status_next_at": _iso(self.status_next_at),
            "status_level": self.status_level,
            "status_link_url": self.status_link_url,
            "status_link_label": self.status_link_label,
            "lease_host": self.lease_host,
            "lease_pid": self.lease_pid,
            "heartbeat_at": _iso(self.heartbeat_at),
            "started_at": _iso(self.started_at),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "url": self.get_absolute_url(),
            "paused": self.is_paused,
            "paused_at": _iso(self.paused_at),
            "paused_by": self.paused_by,
            "pause_mode": self.pause_mode or None,
        }


class LogLevel(models.TextChoices):
    DEBUG = "DEBUG", "Debug"
    INFO = "INFO", "Info"
    WARNING = "WARNING", "Warning"
    ERROR = "ERROR", "Error"


LEVEL_ORDER = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class DaemonLog(models.Model):
    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="logs")
    level = models.CharField(max_length=10, choices=LogLevel.choices)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Log tail: a daemon's newest lines, optionally at a level.
            models.Index(fields=["daemon", "-created_at"], name="daemonlog_daemon_created"),
            models.Index(fields=["daemon", "level", "-created_at"], name="daemonlog_daemon_level"),
        ]

    def __str__(self):
        return f"{self.level} {self.message[:60]}"

    def to_state(self) -> dict:
        return {
            "id": self.pk,
            "daemon": self.daemon.name,
            "level": self.level,
            "message": self.message,
            "created_at": _iso(self.created_at),
        }


class JobAction(models.TextChoices):
    LAUNCHED = "LAUNCHED", "Launched"
    CANCELLED = "CANCELLED", "Cancelled"
    FINISHED = "FINISHED", "Finished"
    FAILED = "FAILED", "Failed"


class DaemonJobHistory(models.Model):
    """What a daemon did with a job: launched it, cancelled it, saw it finish or fail."""

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="job_history")
    # The job row may be purged by retention; the id and type stay readable.
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="daemon_history")
    job_uuid = models.UUIDField()
    job_type = models.CharField(max_length=50)
    action = models.CharField(max_length=20, choices=JobAction.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "daemon job history"
        indexes = [
            # Daemon detail: its newest history entries.
            models.Index(fields=["daemon", "-created_at"], name="daemonhist_daemon_created"),
        ]

    def __str__(self):
        return f"{self.action} {self.job_type} {str(self.job_uuid)[:8]}"

    @property
    def job_url(self) -> str | None:
        """The job's page, or None once retention removed the job."""
        return job_path(self.job_uuid) if self.job_id else None

    def to_state(self) -> dict:
        return {
            "id": self.pk,
            "daemon": self.daemon.name,
            "job_id": str(self.job_uuid),
            "job_type": self.job_type,
            "job_url": self.job_url,
            "action": self.action,
            "reason": self.reason,
            "created_at": _iso(self.created_at),
        }


def _iso(value):
    return value.isoformat() if value else None


class TimelineKind(models.TextChoices):
    """What a daemon was doing, as its timeline strip colours it (daemons/timeline.py)."""

    WORKING = "working", "Working"  # checking, launching, watching a job
    WAITING = "waiting", "Waiting"  # sleeping until its next check, or waiting on something
    WARNING = "warning", "Needs attention"
    ERROR = "error", "Error"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class DaemonStatusEvent(models.Model):
    """One status a daemon reported (or its stop), kept for the timeline: each lasts until the next.
    Bounded by DAEMON_TIMELINE_RETENTION_DAYS (the active host purges older rows with its logs)."""

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="status_events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=TimelineKind.choices)
    message = models.CharField(max_length=500, blank=True)
    job_id = models.CharField(max_length=36, blank=True)
    job_type = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["daemon", "at", "id"]
        indexes = [
            # The strip's only query: one daemon's events in a time range (and the one just before it).
            models.Index(fields=["daemon", "at"], name="daemonevent_daemon_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.message[:60]}"
