"""Hosting one daemon in a process (`manage.py rundaemon <name>`).

The host follows the row: it runs the daemon's loop while `desired_state` is running, and reacts to
Start / Stop / Restart and to saved configurations within DAEMON_CONTROL_POLL_SECONDS. Exactly one host
per daemon is active: it holds a lease on the row (owner token + heartbeat, taken by compare-and-set);
any other host waits as a standby and takes over once the lease is older than DAEMON_LEASE_SECONDS.
A loop that raises is logged with its traceback, shown as an error and restarted with backoff.
`step_once()` (rundaemon --once) runs a single step under the lease instead.

The lease fences the daemon (daemons/lease.py): the host's own status writes and everything the loop
writes carry its token, and a lost lease ends the loop (LeaseLost) before it writes or launches anything.
"""

import asyncio
import logging
import os
import signal
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from daemons import pause, services
from daemons.lease import Lease
from daemons.models import ActualState, Daemon, DesiredState, StatusLevel
from daemons.registry import get_kind
from orchestrator import dbconn, notify
from orchestrator.backoff import Backoff
from orchestrator.live.signals import status_changed
from orchestrator.paths import daemon_path

logger = logging.getLogger("daemons.host")

STOP_GRACE_SECONDS = 5.0
LOG_PURGE_INTERVAL_SECONDS = 3600.0
# A loop that ran this long without raising is considered healthy again: backoff starts over.
HEALTHY_AFTER_SECONDS = 60.0


class HostedElsewhere(Exception):
    """Another host holds the daemon's lease."""


def db(func):
    """Run ORM code off the event loop, on the one thread that owns this process's DB connection (on a
    connection not known to be dead: orchestrator.dbconn)."""

    async def call(*args, **kwargs):
        return await sync_to_async(dbconn.run, thread_sensitive=True)(func, *args, **kwargs)

    return call


class DaemonHost:
    def __init__(self, name: str):
        self.name = name
        self.lease = Lease(uuid.uuid4().hex)
        self.token = self.lease.token
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.shutdown = asyncio.Event()
        # Called once SIGTERM/SIGINT arrived (rundaemon: the deadline by which the process exits).
        self.on_stop_signal: Callable[[], None] | None = None
        self.daemon = None
        self.loop_task: asyncio.Task | None = None
        self.active = False
        self.applied_config_version = None
        self.applied_restart = None
        self.applied_run_now = None
        # Crashes in a row: restarts wait 1 s, 2 s, 4 s … up to DAEMON_RESTART_BACKOFF_MAX_SECONDS.
        self.crashes = Backoff(first=1.0)
        self.retry_at = 0.0
        self.loop_started = 0.0
        self._last_beat = 0.0
        self._last_purge = 0.0
        self._said_standby = False

    # --- main -----------------------------------------------------------------------------------

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop_signalled)
        await self._load()
        logger.info("Host %s:%s for daemon %s started", self.hostname, self.pid, self.name)
        while not self.shutdown.is_set():
            try:
                await self._tick()
            except Exception:
                # The database may be briefly unavailable; never let the host die for it.
                logger.exception("Host %s: control step failed", self.name)
                await db(close_old_connections)()
            await self._wait(settings.DAEMON_CONTROL_POLL_SECONDS)
        await self._shutdown()
        return 0

    def _stop_signalled(self):
        self.shutdown.set()
        if self.on_stop_signal is not None:
            self.on_stop_signal()

    async def step_once(self) -> float:
        """Run one step of the daemon here, with its configuration, whatever its desired state; return the
        seconds the step asked to wait. The lease is held for the step only (so no host runs the loop
        meanwhile); raises HostedElsewhere when another host holds it."""
        row = await self._load()
        if not await db(self._try_acquire)():
            raise HostedElsewhere(
                f"Daemon {self.name} is hosted by {row.lease_host}:{row.lease_pid}; "
                "--once runs a step only while no host is active for it"
            )
        try:
            daemon = self.cls(row.pk, row.name, services.effective_config(row), self.lease)
            daemon.pause = pause.state_of(row)
            return await daemon.run_step()
        finally:
            await db(self._release)()

    async def _load(self) -> Daemon:
        row = await db(Daemon.objects.get)(name=self.name)
        self.daemon_id = row.pk
        self._handle = Daemon(pk=row.pk, name=row.name)  # enough for log rows; never saved whole
        self.cls = get_kind(row.kind)
        return row

    async def _wait(self, seconds: float):
        try:
            await asyncio.wait_for(self.shutdown.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _tick(self):
        if not self.active:
            self.active = await db(self._try_acquire)()
            if not self.active:
                if not self._said_standby:
                    logger.info("Daemon %s is hosted elsewhere; this host waits as a standby", self.name)
                    self._said_standby = True
                return
            self._said_standby = False
            await self._log("INFO", f"Host {self.hostname}:{self.pid} is now active for this daemon")
        row = await db(self._renew_and_read)()
        if row is None:
            logger.warning("Daemon %s: lease lost to another host; stopping the loop here", self.name)
            await self._stop_loop(clear=False)
            self.active = False
            return
        await self._reconcile(row)
        if time.monotonic() - self._last_purge >= LOG_PURGE_INTERVAL_SECONDS:
            # The active host keeps its daemon's log within DAEMON_LOG_RETENTION_DAYS.
            self._last_purge = time.monotonic()
            await db(services.purge_old_logs)(self.daemon_id)

    # --- lease --------------------------------------------------------------------------------

    def _lease_filter(self):
        expired = timezone.now() - timedelta(seconds=settings.DAEMON_LEASE_SECONDS)
        return (
            Q(lease_owner="") | Q(lease_owner=self.token) | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=expired)
        )

    def _try_acquire(self) -> bool:
        # Compare-and-set: of two hosts racing for a free or expired lease, one update matches.
        asked = time.monotonic()
        now = timezone.now()
        taken = (
            Daemon.objects.filter(pk=self.daemon_id)
            .filter(self._lease_filter())
            .update(lease_owner=self.token, lease_host=self.hostname, lease_pid=self.pid, heartbeat_at=now)
        )
        if taken:
            self._last_beat = self.lease.renewed_at = asked
        return bool(taken)

    def _beat_every(self) -> float:
        """The lease needs a beat every DAEMON_HEARTBEAT_SECONDS; a daemon's `heartbeat_interval` setting
        (the StashHog key) can only make beats more frequent, never let the lease lapse."""
        wanted = (self.daemon.config.get("heartbeat_interval") if self.daemon else None) or float("inf")
        return min(settings.DAEMON_HEARTBEAT_SECONDS, float(wanted))

    def _renew_and_read(self) -> Daemon | None:
        beat = time.monotonic() - self._last_beat >= self._beat_every()
        if beat:
            asked = time.monotonic()
            renewed = Daemon.objects.filter(pk=self.daemon_id, lease_owner=self.token).update(
                heartbeat_at=timezone.now()
            )
            if not renewed:
                return None
            self._last_beat = self.lease.renewed_at = asked
        row = Daemon.objects.get(pk=self.daemon_id)
        if beat:
            # Pages show the heartbeat's age; a push per beat keeps it honest between status changes.
            status_changed.send(sender=Daemon, instance=row)
        return row if row.lease_owner == self.token else None

    def _release(self):
        Daemon.objects.filter(pk=self.daemon_id, lease_owner=self.token).update(
            lease_owner="", lease_pid=None, heartbeat_at=None
        )

    # --- reconciling the row with the loop -----------------------------------------------------

    async def _reconcile(self, row: Daemon):
        loop_alive = self.loop_task is not None and not self.loop_task.done()
        if self.loop_task is not None and self.loop_task.done():
            await self._loop_ended(row)
            loop_alive = False
        if row.desired_state == DesiredState.STOPPED:
            if loop_alive:
                await self._stop_loop(clear=True)
                await self._log("INFO", "Daemon stopped")
            elif row.actual_state != ActualState.STOPPED or row.current_status:
                await db(services.clear_status)(
                    self.daemon_id, self.token, actual_state=ActualState.STOPPED, started_at=None
                )
            self.crashes.reset()
            self.retry_at = 0.0
            self.applied_restart = row.restart_requested
            return
        if loop_alive and row.restart_requested != self.applied_restart:
            await self._stop_loop(clear=True)
            await self._log("INFO", "Daemon restarting")
            loop_alive = False
            self.crashes.reset()
            self.retry_at = 0.0
        if loop_alive:
            if row.config_version != self.applied_config_version:
                self.daemon.apply_config(services.effective_config(row))
                self.applied_config_version = row.config_version
                await self._log("INFO", f"Configuration updated: {self.daemon.config}")
            self._apply_schedule(row)
            return
        if time.monotonic() >= self.retry_at:
            await self._start_loop(row)

    async def _start_loop(self, row: Daemon):
        config = services.effective_config(row)
        self.daemon = self.cls(row.pk, row.name, config, self.lease)
        self.daemon.pause = pause.state_of(row)  # a pause survives restarts: the loop starts held
        self.applied_config_version = row.config_version
        self.applied_restart = row.restart_requested
        self.applied_run_now = row.run_now_requested
        self.loop_started = time.monotonic()
        await db(services.save_fields)(
            self.daemon_id, self.token, actual_state=ActualState.RUNNING, started_at=timezone.now()
        )
        await self._log("INFO", f"Daemon started on {self.hostname} (pid {self.pid})")
        self.loop_task = asyncio.create_task(self.daemon.run(), name=f"daemon-{self.name}")

    def _apply_schedule(self, row: Daemon):
        """Hand a changed pause and a new Run now request to the running loop (daemons/pause.py,
        daemons/schedule.py)."""
        state = pause.state_of(row)
        if state != self.daemon.pause:
            self.daemon.apply_pause(state)
        if row.run_now_requested != self.applied_run_now:
            self.applied_run_now = row.run_now_requested
            if state is None:
                self.daemon.run_now()

    async def _loop_ended(self, row: Daemon):
        """The loop task finished on its own: a crash (or an unexpected return) while it should run."""
        task, self.loop_task = self.loop_task, None
        exc = task.exception() if not task.cancelled() else None
        if self.daemon is not None and not self.daemon.running and exc is None:
            return  # it was asked to stop
        if isinstance(exc, services.LeaseLost):
            # Another host took over (this one was paused or cut off): nothing to record; the next
            # control step finds the lease gone and waits as a standby.
            logger.warning("Daemon %s: lease lost to another host; the loop stopped before writing", self.name)
            return
        if exc is None:
            exc = RuntimeError("The daemon loop returned although the daemon should be running")
        if time.monotonic() - self.loop_started > HEALTHY_AFTER_SECONDS:
            self.crashes.reset()
        delay = self.crashes.next_delay(settings.DAEMON_RESTART_BACKOFF_MAX_SECONDS)
        self.retry_at = time.monotonic() + delay
        trace = "".join(traceback.format_exception(exc))
        summary = f"{type(exc).__name__}: {exc}"
        logger.error("Daemon %s crashed: %s", self.name, trace)
        now = timezone.now()
        status = {
            **services.STATUS_CLEARED,
            "current_status": f"Error: {summary} (restarting in {delay:g} s)"[:500],
            "status_updated_at": now,
            "status_level": StatusLevel.ERROR,
            "status_next_at": now + timedelta(seconds=delay),  # the restart is what it says next
        }
        await db(services.save_fields)(
            self.daemon_id,
            self.token,
            actual_state=ActualState.ERROR,
            last_error=trace[-10_000:],
            last_error_at=now,
            **status,
        )
        await self._log("ERROR", f"Daemon crashed: {summary}\n{trace}")
        await db(_notify_crash)(self.name, summary, self.crashes.failures, delay)

    async def _stop_loop(self, *, clear: bool):
        task = self.loop_task
        if task is not None and not task.done():
            self.daemon.request_stop()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE_SECONDS)
            except TimeoutError:
                task.cancel()
            except Exception:
                logger.exception("Daemon %s raised while stopping", self.name)
            if not task.done():
                try:
                    await task
                except BaseException:  # cancelled or raised: it is over either way
                    pass
        self.loop_task = None
        if clear:
            await db(services.clear_status)(
                self.daemon_id, self.token, actual_state=ActualState.STOPPED, started_at=None
            )

    async def _shutdown(self):
        if self.active:
            was_running = self.loop_task is not None and not self.loop_task.done()
            try:
                await self._stop_loop(clear=True)
            except services.LeaseLost:
                was_running = False  # another host has the daemon now: its row is not ours to clear
            except dbconn.CONNECTION_ERRORS as exc:
                logger.warning("Daemon %s: could not record the stop (%s)", self.name, exc)
            if was_running:
                await self._log("INFO", "Daemon stopped: host shutting down")
            await db(self._release)()
        logger.info("Host %s:%s for daemon %s stopped", self.hostname, self.pid, self.name)

    async def _log(self, level: str, message: str):
        """A line of the daemon's log from its host, fenced like the loop's: only while this host holds
        the lease (a host frozen past it and resumed writes nothing of its own either)."""
        try:
            await db(services.add_log)(self._handle, level, message, self.token)
        except services.LeaseLost:
            logger.warning("Daemon %s: lease lost; not logged: %s", self.name, message)


# Three crashes in a row without a healthy minute between them: the message says "crash-looping".
CRASH_LOOP_AFTER = 3


def _notify_crash(name: str, summary: str, crashes: int, delay: float):
    """One event per crash; the notification rate limit (per daemon) turns a crash loop into one message
    per window that counts the crashes it held back."""
    looping = crashes >= CRASH_LOOP_AFTER
    notify.event(
        notify.DAEMON_ERROR,
        name,
        f"Daemon {name} is crash-looping" if looping else f"Daemon {name} crashed",
        f"{summary} ({crashes} crashes in a row; restarting in {delay:g} s)"
        if looping
        else f"{summary} (restarting in {delay:g} s)",
        link=daemon_path(name),
        level="failure",
    )
