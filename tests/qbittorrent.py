"""A real qBittorrent for the tests: Debian's `qbittorrent-nox`, on loopback, in a profile folder of the
test's own, with known WebUI credentials; and torrents for local data that complete at once.

Facts this relies on (../shared/notes/real-services-in-tests.md): the config file must exist before the
first start; the Interface lines keep the BitTorrent listener on loopback; the API answers within ~3 s; a
trackerless private torrent added with skip-checking where its files already are is complete within about
a second; five failed logins ban the address for an hour (the tests use their own instance, so a ban in a
test cannot reach anything else).
"""

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import qbittorrentapi
import requests

BINARY = shutil.which("qbittorrent-nox") or "/usr/bin/qbittorrent-nox"
USERNAME = "orchestrator"
PASSWORD = "correct-horse-battery-staple"


def password_pbkdf2(password: str, salt: bytes | None = None) -> str:
    """qBittorrent's stored password: PBKDF2-HMAC-SHA512, 100,000 iterations, 16-byte salt, 64-byte key."""
    salt = salt or os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, dklen=64)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


class _ExitedEarly(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QBittorrent:
    """One qbittorrent-nox process; `stop()` kills exactly it, by PID."""

    def __init__(self, root: Path, port: int, *, username: str = USERNAME, password: str = PASSWORD):
        self.root = root
        self.profile = root / "profile"
        self.downloads = root / "downloads"
        self.port = port
        self.username = username
        self.password = password
        self.proc: subprocess.Popen | None = None
        self.downloads.mkdir(parents=True, exist_ok=True)
        self._write_config()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _write_config(self):
        config = self.profile / "qBittorrent" / "config" / "qBittorrent.conf"
        config.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            "[LegalNotice]",
            "Accepted=true",
            "",
            "[BitTorrent]",
            f"Session\\DefaultSavePath={self.downloads}",
            "Session\\Port=0",
            "Session\\Interface=lo",
            "Session\\InterfaceName=lo",
            "Session\\InterfaceAddress=127.0.0.1",
            "Session\\DHTEnabled=false",
            "Session\\PeXEnabled=false",
            "Session\\LSDEnabled=false",
            "Session\\AddTorrentPaused=false",
            "",
            "[Preferences]",
            "WebUI\\Address=127.0.0.1",
            f"WebUI\\Port={self.port}",
            "WebUI\\LocalHostAuth=true",
            f"WebUI\\Username={self.username}",
            f'WebUI\\Password_PBKDF2="{password_pbkdf2(self.password)}"',
            "WebUI\\CSRFProtection=false",
            "WebUI\\HostHeaderValidation=false",
            "Connection\\UPnP=false",
            "General\\Locale=en",
            "",
        ]
        config.write_text("\n".join(lines))

    def start(self, timeout: float = 20.0, attempts: int = 3):
        """Start it and wait for its WebUI. Its port was free when picked, but another process (a parallel
        test worker) may take it before qBittorrent binds it; qBittorrent then exits 1 at start-up, and
        it is started again on another free port."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start(timeout)
            except _ExitedEarly:
                if attempt == attempts:
                    raise
                self.port = _free_port()
                self._write_config()
        raise AssertionError("unreachable")

    def _start(self, timeout: float):
        log = open(self.root / "qbittorrent.log", "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            [BINARY, f"--profile={self.profile}", f"--webui-port={self.port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly(f"qbittorrent-nox exited with {self.proc.returncode}: see {log.name}")
            try:
                # An unauthenticated call: answers 403 once the WebUI listens (and counts no failed login).
                requests.get(f"{self.url}/api/v2/app/version", timeout=2)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            return self
        self.stop()
        raise RuntimeError(f"qbittorrent-nox did not answer on port {self.port} within {timeout} s")

    def stop(self):
        """Kill the process (by its PID) and wait for it, so its port and profile are free again."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self):
        self.stop()
        return self.start().settle()

    def client(self, *, login: bool = True) -> qbittorrentapi.Client:
        """The test's own API client (never the code under test's)."""
        client = qbittorrentapi.Client(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            REQUESTS_ARGS={"timeout": (2, 10)},
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
        )
        if login:
            client.auth_log_in()
        return client

    # --- torrents for local data ----------------------------------------------------------------------

    def add_local(self, content: Path, *, category: str = "", tags: str = "", paused: bool = False) -> str:
        """Add a torrent of `content` (a file or a folder already on disk) that completes at once.

        Returns the torrent's hash after qBittorrent reports it complete (stalledUP / pausedUP)."""
        from torf import Torrent

        torrent = Torrent(path=str(content), private=True, created_by=None, creation_date=None)
        torrent.generate()
        # Not named after the content: a 255-byte content name would make the .torrent's name too long.
        torrent_file = self.root / f"added-{time.monotonic_ns()}.torrent"
        torrent.write(str(torrent_file))
        client = self.client()
        if category and category not in client.torrents_categories():
            client.torrents_create_category(name=category)
        answer = client.torrents_add(
            torrent_files=str(torrent_file),
            save_path=str(content.parent),
            category=category or None,
            tags=tags or None,
            is_skip_checking=True,
            is_paused=paused,
            use_auto_torrent_management=False,
        )
        assert answer == "Ok.", answer
        infohash = torrent.infohash
        self.wait_complete(infohash)
        return infohash

    def wait_complete(self, infohash: str, timeout: float = 15.0):
        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = client.torrents_info(torrent_hashes=infohash)
            if info and info[0].state in ("stalledUP", "pausedUP", "uploading", "queuedUP", "forcedUP"):
                return info[0]
            time.sleep(0.1)
        raise AssertionError(f"torrent {infohash} did not complete within {timeout} s")

    def settle(self, timeout: float = 15.0):
        """After a restart: wait until every torrent is loaded again (none still checking resume data)."""
        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(not t.state.startswith(("checking", "moving", "metaDL")) for t in client.torrents_info()):
                return self
            time.sleep(0.1)
        raise AssertionError(f"qBittorrent's torrents did not settle within {timeout} s")

    def wait_files(self, infohash: str, name: str, timeout: float = 15.0):
        """Wait until qBittorrent lists (and has moved on disk) a renamed file."""
        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = client.torrents_info(torrent_hashes=infohash)[0]
            names = [f.name for f in client.torrents_files(torrent_hash=infohash)]
            if name in names and os.path.exists(os.path.normpath(os.path.join(info.save_path, name))):
                return
            time.sleep(0.1)
        raise AssertionError(f"torrent {infohash} did not list {name!r} within {timeout} s")

    def tags_of(self, infohash: str) -> set[str]:
        info = self.client().torrents_info(torrent_hashes=infohash)
        return {tag.strip() for tag in info[0].tags.split(",") if tag.strip()}


def configure(qb: QBittorrent, library: Path, **overrides):
    """Save the settings row pointing at this qBittorrent and library (no login check: tests set it up)."""
    from stash.downloads.models import QBittorrentSettings

    library.mkdir(parents=True, exist_ok=True)
    values = {
        "host": qb.host,
        "port": qb.port,
        "username": qb.username,
        "password": qb.password,
        "category": "xxx",
        "library_path": str(library),
        **overrides,
    }
    row = QBittorrentSettings.load()
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row
