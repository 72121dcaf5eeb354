"""A small process manager for the all-in-one run (`manage.py runstack`).

Children are forked from a parent that has already loaded Django and the project's modules, so the memory
they hold in common is counted once (the issue's idle-stack budget is in proportional set size). A child
that exits while the stack runs is restarted with backoff; SIGINT/SIGTERM to the supervisor stop every
child (SIGTERM, then SIGKILL after `stop_timeout`) and return.

The parent stays single-threaded and holds no database connection or socket when it forks: `before_fork`
closes them, and each child resets the signal handlers it inherited.
"""

import ctypes
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator import backoff

logger = logging.getLogger(__name__)

BACKOFF_MAX_SECONDS = 30.0
# A child that ran this long before exiting is considered healthy: its backoff starts again at 1 s.
BACKOFF_RESET_AFTER_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 8.0
PR_SET_PDEATHSIG = 1


def backoff_delay(failures: int) -> float:
    """Seconds to wait before restart number `failures`: 1, 2, 4, 8, 16, then 30 for good."""
    return backoff.delay(failures, 1.0, BACKOFF_MAX_SECONDS)


def die_with_parent(sig: int = signal.SIGTERM):
    """Have Linux send `sig` to this process when its parent dies, so a supervisor killed outright
    (SIGKILL, OOM) leaves no orphans behind. A no-op where prctl does not exist."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def set_title(title: str):
    """Show `title` in ps/top (setproctitle is optional: without it the command line stays as it was)."""
    try:
        from setproctitle import setproctitle
    except ImportError:
        return
    setproctitle(title)


def tag_log_lines(tag: str):
    """Prefix this process's log lines with its role: every child writes to the same terminal."""
    formatter = logging.Formatter(f"%(asctime)s [{tag}] %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Program:
    """One supervised child. `target` runs in the forked child; its return value is the exit code."""

    name: str
    target: Callable[[], int | None]
    title: str = ""
    pid: int | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        programs: list[Program],
        *,
        before_fork: Callable[[], None] | None = None,
        on_change: Callable[[], None] | None = None,
        checks: tuple[Callable[[], None], ...] = (),
        close_in_child: tuple[int, ...] = (),
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
    ):
        self.programs = programs
        self.before_fork = before_fork
        self.on_change = on_change
        self.checks = checks
        self.close_in_child = close_in_child
        self.stop_timeout = stop_timeout
        self.stop_signal: int | None = None
        self._force = False
        self._pid = os.getpid()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    # --- signals -------------------------------------------------------------------------------

    def install_signal_handlers(self):
        """SIGINT/SIGTERM request a stop (a second one kills at once); SIGCHLD only wakes the loop."""
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def _on_stop_signal(self, signum, _frame):
        if self.stop_signal is not None:
            self._force = True
        self.stop_signal = signum

    @property
    def stop_requested(self) -> bool:
        return self.stop_signal is not None

    def _wait(self, timeout: float):
        """Sleep until a signal arrives or `timeout` passes."""
        readable, _, _ = select.select([self._wake_r], [], [], max(0.0, timeout))
        if readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass

    # --- main loop -----------------------------------------------------------------------------

    def run(self) -> int:
        """Start every program, keep them running until a stop signal, then stop them all. Returns 0."""
        for program in self.programs:
            if not self.stop_requested:
                self._spawn(program)
        while not self.stop_requested:
            self._reap()
            for check in self.checks:
                check()
            self._restart_due()
            self._wait(self._next_wakeup())
        self._shutdown()
        return 0

    def run_once(self, name: str, target: Callable[[], int | None], timeout: float = 120.0) -> int | None:
        """Run `target` in one forked child and wait for it; None if a stop was requested meanwhile."""
        program = Program(name=name, target=target)
        self._spawn(program, quiet=True)
        deadline = time.monotonic() + timeout
        while not self.stop_requested and time.monotonic() < deadline:
            pid, status = os.waitpid(program.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self._wait(0.1)
        os.kill(program.pid, signal.SIGKILL)
        os.waitpid(program.pid, 0)
        if not self.stop_requested:
            raise TimeoutError(f"{name} did not finish within {timeout:.0f} s")
        return None

    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in self.programs if p.pid is not None}

    def _next_wakeup(self) -> float:
        due = [p.restart_at for p in self.programs if p.pid is None and p.restart_at is not None]
        return min([1.0, *(at - time.monotonic() for at in due)])

    def _changed(self):
        if self.on_change:
            self.on_change()

    # --- children ------------------------------------------------------------------------------

    def _spawn(self, program: Program, quiet: bool = False):
        if self.before_fork:
            self.before_fork()
        try:
            pid = os.fork()
        except OSError as exc:  # out of memory or processes: try again later rather than give up
            if quiet:
                raise
            program.failures += 1
            program.restart_at = time.monotonic() + backoff_delay(program.failures)
            logger.error("could not start %s: %s; retrying in %g s", program.name, exc, backoff_delay(program.failures))
            return
        if pid == 0:
            self._child_main(program)  # never returns
        program.pid, program.started_at, program.restart_at = pid, time.monotonic(), None
        if not quiet:
            logger.info("started %s (pid %d)", program.name, pid)
            self._changed()

    def _child_main(self, program: Program):
        code = 1
        try:
            self._prepare_child(program)
            result = program.target()
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            logger.exception("%s crashed", program.name)
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # a closed or broken stream must not keep the child alive
                    pass
            # _exit: the parent's atexit handlers and buffered state belong to the parent.
            os._exit(code)

    def _prepare_child(self, program: Program):
        # Its own process group: a terminal's Ctrl-C reaches only the supervisor, which stops the
        # children in order (and stops Redis only after them).
        os.setpgid(0, 0)
        die_with_parent()
        if os.getppid() != self._pid:  # the supervisor died before prctl took effect
            os._exit(1)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        for fd in (self._wake_r, self._wake_w, *self.close_in_child):
            try:
                os.close(fd)
            except OSError:
                pass
        # Line by line: several children share one terminal or log file (daphne's access log is stdout).
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(line_buffering=True)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        set_title(f"orchestrator: {program.title or program.name}")
        tag_log_lines(program.name)

    def _reap(self):
        for program in self.programs:
            if program.pid is None:
                continue
            try:
                pid, status = os.waitpid(program.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = program.pid, 0
            if pid:
                self._exited(program, os.waitstatus_to_exitcode(status))

    def _exited(self, program: Program, code: int):
        now = time.monotonic()
        program.pid = None
        if self.stop_requested:
            logger.info("%s %s", program.name, _describe_exit(code))
            self._changed()
            return
        if now - program.started_at >= BACKOFF_RESET_AFTER_SECONDS:
            program.failures = 0
        program.failures += 1
        delay = backoff_delay(program.failures)
        program.restart_at = now + delay
        logger.warning("%s %s; restarting in %g s", program.name, _describe_exit(code), delay)
        self._changed()

    def _restart_due(self):
        now = time.monotonic()
        for program in self.programs:
            if program.pid is None and program.restart_at is not None and program.restart_at <= now:
                self._spawn(program)

    def _shutdown(self):
        running = [p for p in self.programs if p.pid is not None]
        name = signal.Signals(self.stop_signal).name
        logger.info("%s received: stopping %d processes", name, len(running))
        for program in running:
            try:
                os.kill(program.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout
        while not self._force and time.monotonic() < deadline and any(p.pid for p in self.programs):
            self._reap()
            self._wait(0.05)
        for program in self.programs:
            if program.pid is not None:
                logger.warning("%s did not stop in time; killing it (pid %d)", program.name, program.pid)
                os.kill(program.pid, signal.SIGKILL)
                os.waitpid(program.pid, 0)
                program.pid = None
        self._changed()
