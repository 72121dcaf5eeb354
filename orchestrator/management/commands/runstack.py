"""`manage.py runstack`: every process of DESIGN §2 under one supervisor (what `make run` execs).

Without REDIS_URL it first starts the embedded Redis. Then it sets the auto-start daemons to run and
forks the web server (daphne), one job worker, the health loop (`runhealth`) and one `rundaemon` host per
registered daemon, restarting whichever exits. With no Stash configured (no STASH_URL, no URL saved in the
settings) it also runs the built-in Stash emulator with its demo library and tells every child where
(STASH_DEMO_URL). Ctrl-C (SIGINT) or SIGTERM stops them all within about ten seconds.

The children are forked from this process after Django and the project are loaded (and the heap frozen
for the garbage collector), so the memory they share is counted once.
"""

import fcntl
import json
import logging
import os
import socket
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from orchestrator import dbcheck
from orchestrator.embedded_redis import EmbeddedRedis, EmbeddedRedisError, public_url
from orchestrator.envtools import env_number, env_str
from orchestrator.heap import freeze_startup_objects
from orchestrator.settings import redis_host
from orchestrator.supervisor import Program, Supervisor, set_title, tag_log_lines

logger = logging.getLogger("orchestrator.runstack")


class Command(BaseCommand):
    help = "Run the whole stack (web, job worker, one host per daemon; Redis too without REDIS_URL)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", help="Web server address (default: env BIND or 127.0.0.1).")
        parser.add_argument("--port", type=int, help="Web server port (default: env PORT or 8000).")
        parser.add_argument("--concurrency", type=int, help="Jobs run at once (default: env JOB_CONCURRENCY or 2).")

    def handle(self, *args, bind, port, concurrency, **options):
        try:
            bind = bind or env_str("BIND", "127.0.0.1")
            port = port or env_number("PORT", 8000, minimum=1, integer=True)
            concurrency = concurrency or env_number("JOB_CONCURRENCY", 2, minimum=1, integer=True)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if not 1 <= port <= 65535 or not 1 <= concurrency <= 64:
            raise CommandError("The port must be 1-65535 and the concurrency 1-64.")
        # Before the lock file, Redis or any child: a stack pointed at the wrong database creates nothing.
        # Here, not in each child: the migration modules it loads are then shared by every forked process.
        dbcheck.require_database()
        connections.close_all()
        data_dir = Path(settings.DATA_DIR)
        lock_fd = _lock(data_dir)
        supervisor = Supervisor([], before_fork=connections.close_all, close_in_child=(lock_fd,))
        supervisor.install_signal_handlers()
        set_title("orchestrator: runstack")
        tag_log_lines("runstack")
        state = StateFile(data_dir / "runstack.json", supervisor)
        try:
            state.redis = _start_redis(data_dir)
            if not self._run(supervisor, state, bind, port, concurrency):
                return
        finally:
            if state.redis:
                state.redis.stop()
            state.remove()
            os.close(lock_fd)
        logger.info("stopped")

    def _run(self, supervisor: Supervisor, state, bind: str, port: int, concurrency: int) -> bool:
        code = supervisor.run_once("setup", _prepare_daemons)
        if code is None:  # stopped while preparing
            return False
        if code:
            raise CommandError("Preparing the daemons failed (see the messages above).")
        supervisor.programs = _programs(bind, port, concurrency, _daemon_names())
        demo = _demo_stash()  # exports STASH_DEMO_URL, so only before anything is forked
        if demo:
            supervisor.programs.append(demo)
            state.stash_demo_url = os.environ["STASH_DEMO_URL"]
        _warm_up()
        tag_log_lines("runstack")  # again: loading the ASGI app re-ran the logging configuration
        supervisor.on_change = state.write
        if state.redis:
            supervisor.checks = (partial(_check_redis, state),)
        shown = "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind
        self.stdout.write(self.style.SUCCESS(f"Open http://{shown}:{port}/  (Ctrl-C stops everything)"))
        supervisor.run()
        return True


class StateFile:
    """DATA_DIR/runstack.json: the supervisor's and every child's pid, for operators and benchmarks."""

    def __init__(self, path: Path, supervisor: Supervisor):
        self.path = path
        self.supervisor = supervisor
        self.redis: EmbeddedRedis | None = None
        self.stash_demo_url: str | None = None

    def write(self):
        try:
            self._write()
        except OSError as exc:  # a full disk must not bring the stack down
            logger.warning("could not write %s: %s", self.path, exc)

    def _write(self):
        state = {
            "pid": os.getpid(),
            "processes": self.supervisor.pids(),
            "redis": {"pid": self.redis.pid, "url": public_url(self.redis.url)} if self.redis else None,
            "stash_demo_url": self.stash_demo_url,
            # What an operator command needs to reach this stack's database (dbcheck's hint points here).
            "data_dir": str(settings.DATA_DIR),
            "database": dbcheck.describe(),
            "database_url": "set" if env_str("DATABASE_URL") else "not set",
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, self.path)  # readers never see a half-written file

    def remove(self):
        self.path.unlink(missing_ok=True)


def _lock(data_dir: Path) -> int:
    """One stack per DATA_DIR: two would fight over the embedded Redis socket and the state file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "runstack.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CommandError(f"Another runstack is already running with DATA_DIR={data_dir}.") from None
    return fd


def _start_redis(data_dir: Path) -> EmbeddedRedis | None:
    if env_str("REDIS_URL"):
        logger.info("using the Redis server at REDIS_URL")
        return None
    redis = EmbeddedRedis(data_dir)
    try:
        url = redis.start()
    except EmbeddedRedisError as exc:
        raise CommandError(str(exc)) from exc
    logger.info("started embedded redis (pid %d) at %s", redis.pid, public_url(url))
    # Settings were read before Redis existed: point this process (and so every child forked from it, and
    # anything they exec) at the embedded server.
    os.environ["REDIS_URL"] = url
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [redis_host(url)]
    from channels.layers import channel_layers

    channel_layers.backends = {}
    return redis


def _check_redis(state: StateFile):
    if state.redis.restart_if_dead():
        state.write()


def _prepare_daemons() -> int:
    """Runs in a short-lived child, so that this process never opens the live-publisher thread or keeps
    a connection: every registered kind gets its row, and auto-start daemons are set to run."""
    from daemons.services import apply_auto_start, ensure_daemon_rows
    from orchestrator.live.publisher import flush

    ensure_daemon_rows()
    started = apply_auto_start()
    if started:
        logger.info("auto-start: %s set to run", ", ".join(started))
    flush(2.0)
    return 0


def _daemon_names() -> list[str]:
    from daemons.models import Daemon
    from daemons.registry import REGISTRY

    names = list(Daemon.objects.filter(kind__in=list(REGISTRY)).order_by("name").values_list("name", flat=True))
    connections.close_all()
    return names


def _programs(bind: str, port: int, concurrency: int, daemon_names: list[str]) -> list[Program]:
    programs = [
        Program("web", partial(_serve_web, bind, port), title=f"web (daphne {bind}:{port})"),
        Program(
            "worker",
            partial(_command, "runjobs", "--concurrency", str(concurrency)),
            title=f"runjobs --concurrency {concurrency}",
        ),
    ]
    # The health checks and the notification sender (health/loop.py).
    programs.append(Program("health", partial(_command, "runhealth"), title="runhealth"))
    for name in daemon_names:
        programs.append(Program(f"daemon:{name}", partial(_command, "rundaemon", name), title=f"rundaemon {name}"))
    return programs


def _demo_stash() -> Program | None:
    """Demo mode: without a configured Stash, the built-in emulator (seeded with the demo library) stands
    in on a free loopback port. A restart of it keeps the port, so STASH_DEMO_URL stays right."""
    from stash.connection.config import SOURCE_DB, SOURCE_ENV, effective_connection

    try:
        if effective_connection().url_source in (SOURCE_ENV, SOURCE_DB):
            return None
    finally:
        connections.close_all()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["STASH_DEMO_URL"] = f"http://127.0.0.1:{port}"
    logger.info("no Stash configured: demo mode, built-in Stash emulator at %s", os.environ["STASH_DEMO_URL"])
    command = ("stashemulator", "--demo", "--port", str(port))
    media_dir = _demo_media_dir()
    if media_dir:
        command += ("--media-dir", media_dir)
    return Program("stash-emulator", partial(_command, *command), title=" ".join(command))


def _demo_media_dir() -> str | None:
    """Where the demo library's real videos live (made here, before any child starts, so that the emulator
    answers at once): None without ffmpeg, or when they cannot be made (the demo then has made-up paths)."""
    from stash.emulator.demo_media import ffmpeg_available, make_clips

    media_dir = str(Path(settings.DATA_DIR) / "demo-media")
    if not ffmpeg_available():
        logger.warning("ffmpeg is not installed: the demo library has no real videos to analyse")
        return None
    logger.info("demo media in %s (made with ffmpeg on the first start)", media_dir)
    try:
        make_clips(media_dir)
    except (OSError, RuntimeError) as exc:
        logger.warning("no demo media: %s", exc)
        return None
    return media_dir


def _warm_up():
    """Load in the parent what every child would otherwise load (and hold) on its own, then move it all
    out of the garbage collector's reach so that collections in the children do not copy those pages."""
    import channels_redis.core  # noqa: F401
    import daphne.cli  # noqa: F401  (imports daphne.server, which installs the reactor the web child runs)
    from django.template.loader import get_template
    from django.urls import get_resolver

    import daemons.host  # noqa: F401
    import jobs.runner  # noqa: F401
    import orchestrator.asgi  # noqa: F401
    from daemons.registry import all_kinds as all_daemon_kinds
    from jobs.types import all_kinds as all_job_kinds

    all_daemon_kinds()
    all_job_kinds()
    get_resolver().url_patterns  # noqa: B018  (imports every view module)
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html")):
        try:
            get_template(str(path.relative_to(Path(settings.BASE_DIR) / "templates")))
        except Exception:  # a broken template is the web process's error to report, not the supervisor's
            pass
    freeze_startup_objects()


def _serve_web(bind: str, port: int) -> int:
    from daphne.cli import CommandLineInterface

    from orchestrator.dbtag import tag_connection

    tag_connection("web")
    CommandLineInterface().run(daphne_args(bind, port))
    return 0


def daphne_args(bind: str, port: int) -> list[str]:
    args = ["--bind", bind, "--port", str(port)]
    if settings.PROXY_HEADERS:
        # Behind a reverse proxy every request comes from the proxy: take the client's address from
        # X-Forwarded-For (login throttling locks per address), as settings.PROXY_HEADERS documents.
        args.append("--proxy-headers")
    return [*args, "orchestrator.asgi:application"]


def _command(name: str, *args: str) -> int:
    from orchestrator.live.publisher import flush

    try:
        call_command(name, *args)
    except CommandError as exc:
        logger.error("%s", exc)
        return exc.returncode
    finally:
        flush(2.0)
    return 0
