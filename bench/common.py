"""What every benchmark shares: a throwaway PostgreSQL database, real processes, results on stdout.

A `Bench` owns one run: a fresh database `orchestrator_bench_<pid>` (migrated by a `manage.py migrate`
subprocess), a channel prefix nobody else uses on the shared Redis, a temporary DATA_DIR, and every
process it starts. Leaving it (normally or by an exception) stops exactly those processes by PID, drops
the database and deletes the prefix's Redis keys. Results are printed as `BENCH <name> <value> <unit>`
on stdout; everything else goes to stderr.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
USERNAME = "bench"
STOP_GRACE_SECONDS = 10.0


# --- output ------------------------------------------------------------------------------------


def emit(name: str, value, unit: str):
    """One result line, exactly `BENCH <name> <value> <unit>`."""
    if isinstance(value, float):
        value = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    print(f"BENCH {name} {value} {unit}", flush=True)


def note(message: str):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def run_sql(statements, **names):
    """Run SQL on the benchmark database (Django's connection); `names` fill {placeholders} like {table}."""
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.format(**names))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- /proc -------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; everything after its closing parenthesis is split.
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """Kernel start time of a process: (pid, start_time) identifies it even if the pid is reused."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if start_time(pid) is not None:
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (None once it has exited)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else None


def _share(before: float | None, after: float | None, wall: float) -> str:
    return "exited" if before is None or after is None else f"{100 * (after - before) / wall:.0f}"


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat), every process on the machine included."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _kib(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in {path}")


def rss_mb(pid: int) -> float:
    """Resident set size in MB (10^6 bytes; /proc counts in KiB)."""
    return _kib(f"/proc/{pid}/status", "VmRSS") * 1024 / 1e6


def pss_mb(pid: int) -> float:
    """Proportional set size in MB: each shared page is split between the processes sharing it."""
    return _kib(f"/proc/{pid}/smaps_rollup", "Pss") * 1024 / 1e6


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


# --- the run -----------------------------------------------------------------------------------


class Bench:
    """One benchmark run; use as a context manager (cleans up even when a benchmark raises)."""

    def __init__(self):
        run_id = f"{os.getpid()}"
        self.db_name = f"orchestrator_bench_{run_id}"
        self.prefix = f"orchbench{run_id}{secrets.token_hex(3)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="orchestrator-bench-"))
        self.password = secrets.token_urlsafe(18)
        self.procs: list[subprocess.Popen] = []
        self.keep_files = False  # set when a benchmark failed: its process logs are worth a look
        self._user_created = False
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
            "REDIS_URL": REDIS_URL,
            "CHANNEL_PREFIX": self.prefix,
            "DATA_DIR": str(self.tmp / "data"),
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
        }

    def __enter__(self):
        note(f"database {self.db_name}, channel prefix {self.prefix}, files under {self.tmp}")
        try:
            self._admin_sql(f'CREATE DATABASE "{self.db_name}"')
        except Exception:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        try:
            self._migrate()
            os.environ.update(self.env)
            import logging

            import django

            django.setup()
            # Its per-send "over capacity" lines would drown the results; fanout counts them in the hosts' logs.
            logging.getLogger("channels_redis").setLevel(logging.WARNING)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(self.procs)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        try:
            # FORCE ends connections to this database only (ours: this process's threads, our children).
            self._admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as err:
            note(f"could not drop database {self.db_name}: {err}")
        self._delete_redis_keys()
        if exc_type is None and not self.keep_files:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            note(f"process logs kept under {self.tmp}")
        return False

    def _admin_sql(self, sql: str):
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql)

    def _migrate(self):
        started = time.monotonic()
        log = self.tmp / "migrate.log"
        with log.open("w") as out:
            code = subprocess.call(
                [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        if code:
            raise RuntimeError(f"manage.py migrate failed ({code}):\n{log.read_text()[-3000:]}")
        note(f"migrated in {time.monotonic() - started:.1f} s")

    def _delete_redis_keys(self):
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
        except Exception as err:
            note(f"could not delete Redis keys of prefix {self.prefix}: {err}")

    # --- processes -------------------------------------------------------------------------------

    def start(self, label: str, argv: list[str], env: dict | None = None, **popen) -> subprocess.Popen:
        """Start a process; its output goes to <tmp>/<label>.log."""
        log_path = self.tmp / f"{label}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, **popen)
        proc.label = label
        proc.log_path = log_path
        self.procs.append(proc)
        return proc

    def manage(self, label: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        return self.start(label, [PYTHON, "manage.py", *args], env=env)

    def stop(self, procs: list[subprocess.Popen], sig=signal.SIGTERM):
        """Signal the given processes (ours, by PID), wait for them, kill what is left after a grace period."""
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(sig)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                note(f"{proc.label} (pid {proc.pid}) did not stop in time; killing it")
                proc.kill()
                proc.wait()

    @staticmethod
    def output(proc: subprocess.Popen) -> str:
        return proc.log_path.read_text(errors="replace")

    @contextlib.contextmanager
    def cpu_usage(self, procs: list[subprocess.Popen]):
        """Report on stderr how busy each process (and the whole machine, others included) was in the block."""
        began, machine = time.monotonic(), _machine_busy_seconds()
        before = {p.pid: cpu_seconds(p.pid) for p in procs}
        yield
        wall = time.monotonic() - began
        after = {p.pid: cpu_seconds(p.pid) for p in procs}
        used = {p.label: _share(before[p.pid], after[p.pid], wall) for p in procs}
        busy = (_machine_busy_seconds() - machine) / wall
        note(
            f"CPU over {wall:.1f} s (% of one core): "
            + ", ".join(f"{label} {share}" for label, share in used.items())
            + f"; machine busy {100 * busy:.0f}% of {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )

    def check_alive(self, *procs: subprocess.Popen):
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.label} exited with {proc.returncode}:\n{self.output(proc)[-3000:]}")

    def wait_hosted(self, hosts: list[subprocess.Popen], daemons: list, timeout: float = 60):
        """Wait until each daemon's row has a lease holder (its `rundaemon` host is up and active)."""
        from daemons.models import Daemon

        unleased = Daemon.objects.filter(pk__in=[d.pk for d in daemons], lease_owner="")

        def hosted():
            self.check_alive(*hosts)
            return not unleased.exists()

        wait_for(hosted, timeout, "the rundaemon hosts to take their leases")

    # --- web ---------------------------------------------------------------------------------------

    def user(self) -> tuple[str, str]:
        """The benchmark login (created once per run)."""
        if not self._user_created:
            from django.contrib.auth.models import User

            User.objects.create_user(USERNAME, password=self.password)
            self._user_created = True
        return USERNAME, self.password

    def start_daphne(self) -> tuple[subprocess.Popen, str]:
        """A real daphne serving the project on a free port; returns it and its base URL."""
        port = free_port()
        argv = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "orchestrator.asgi:application"]
        proc = self.start("daphne", argv)
        url = f"http://127.0.0.1:{port}"

        def serving():
            self.check_alive(proc)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
            return False

        wait_for(serving, 30, "daphne to listen")
        return proc, url
