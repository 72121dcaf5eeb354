"""Talking to qBittorrent's WebUI through qbittorrent-api: log in (through the login gate), list finished
torrents, read a torrent's files, add a tag, log out.

Every failure comes out as one of stash.downloads.errors with a short reason; no qbittorrent-api or
requests exception leaves this module. Calls block (HTTP), so async callers run them in a thread.

The library logs in again by itself when a call answers 403; that path goes through our `auth_log_in`
too, so no login ever bypasses the gate (stash.downloads.login).
"""

import socket
from dataclasses import dataclass

import qbittorrentapi
import requests

from stash.downloads import login
from stash.downloads.errors import LoginRefused, LoginRejected, NotConfigured, QBittorrentError, Unreachable
from stash.downloads.models import QBittorrentSettings

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Torrent:
    hash: str
    name: str
    category: str
    state: str
    save_path: str
    content_path: str
    tags: frozenset
    completed_at: int = 0  # Unix time qBittorrent finished it
    size: int = 0  # bytes selected for download


@dataclass(frozen=True)
class TorrentFile:
    name: str  # relative to the torrent's save path, "/"-separated, as qBittorrent reports it
    size: int
    priority: int  # 0: not downloaded
    progress: float


def _tags(value) -> frozenset:
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(tag.strip() for tag in value or () if tag.strip())


def why_unreachable(exc: BaseException) -> str:
    """The root cause of a connection failure in a few words (qbittorrent-api's messages run to lines)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, requests.exceptions.Timeout):
            return "no answer in time"
        if isinstance(seen, socket.gaierror):
            return "host name not found"
        if isinstance(seen, requests.exceptions.SSLError):
            return f"TLS error: {seen}"[:300]
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route to host"):
        if marker in text:
            return marker[0].lower() + marker[1:]
    return text[:300] or type(exc).__name__


class _GatedClient(qbittorrentapi.Client):
    """qbittorrent-api's client, with every login (explicit or automatic) passed through the login gate."""

    def __init__(self, *, settings: QBittorrentSettings, interactive: bool, **kwargs):
        super().__init__(**kwargs)
        self._settings = settings
        self._interactive = interactive

    def auth_log_in(self, username=None, password=None, **kwargs):
        row = self._settings
        if not row.username:
            raise LoginRejected(
                f"qBittorrent at {row.base_url} asks for a login: enter its WebUI username and password in Settings"
            )
        fingerprint = row.credentials_fingerprint()
        login.before_login(fingerprint, interactive=self._interactive)
        try:
            super().auth_log_in(**kwargs)
        except qbittorrentapi.LoginFailed:
            message = f"qBittorrent at {row.base_url} rejected the username or password"
            login.record_failure(fingerprint, message)
            raise LoginRejected(message) from None
        except qbittorrentapi.HTTP403Error:
            message = f"qBittorrent at {row.base_url} has banned this machine's address after too many failed logins"
            login.record_ban(message)
            raise LoginRefused(message) from None
        login.record_success()


class QBittorrent:
    """A session with qBittorrent. Use as a context manager: logs in on entry, out on exit.

    `interactive`: a person is trying these settings now (Settings page), so a rejected login of other
    credentials does not make them wait; the failure cap still applies."""

    def __init__(
        self,
        settings: QBittorrentSettings | None = None,
        *,
        interactive: bool = False,
        timeouts: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ):
        self.settings = settings if settings is not None else QBittorrentSettings.load()
        if not self.settings.is_configured:
            raise NotConfigured("qBittorrent is not configured: set its host on the Settings page")
        self._client = _GatedClient(
            settings=self.settings,
            interactive=interactive,
            # With the scheme always given and forced, a down host costs one connection attempt, not an
            # http-then-https probe.
            host=self.settings.host if "://" in self.settings.host else f"http://{self.settings.host}",
            port=self.settings.port,
            FORCE_SCHEME_FROM_HOST=True,
            username=self.settings.username,
            password=self.settings.password,
            REQUESTS_ARGS={"timeout": timeouts},
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
            VERIFY_WEBUI_CERTIFICATE=True,
        )
        self._logged_in = False

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        """Log in when credentials are set; without them, check that qBittorrent lets us in anyway."""
        if self.settings.username:
            self._call(self._client.auth_log_in)
            self._logged_in = True
        else:
            self.version()

    def close(self):
        if self._logged_in:
            self._logged_in = False
            try:
                self._client.auth_log_out()
            except qbittorrentapi.APIError:
                pass  # the session expires on its own
        self._client._trigger_session_initialization()  # closes the HTTP connections

    # --- calls ---------------------------------------------------------------------------------------

    def version(self) -> str:
        return str(self._call(self._client.app_version))

    def completed_torrents(self, category: str) -> list[Torrent]:
        """Finished torrents of the category, oldest first (qBittorrent's "completed" filter: seeding or
        paused after completing; not ones still checking)."""
        infos = self._call(self._client.torrents_info, status_filter="completed", category=category)
        return [
            Torrent(
                hash=str(info["hash"]),
                name=str(info.get("name", "")),
                category=str(info.get("category", "")),
                state=str(info.get("state", "")),
                save_path=str(info.get("save_path", "")),
                content_path=str(info.get("content_path", "")),
                tags=_tags(info.get("tags")),
                completed_at=int(info.get("completion_on") or 0),
                size=int(info.get("size") or 0),
            )
            for info in sorted(infos, key=lambda i: (int(i.get("completion_on") or 0), str(i.get("name", ""))))
            if info.get("category", category) == category
        ]

    def default_save_path(self) -> str:
        """Where qBittorrent saves new torrents, as qBittorrent sees it."""
        return str(self._call(self._client.app_default_save_path))

    def pending(self, category: str, handled_tag: str, failed_tag: str) -> list[Torrent]:
        """Finished torrents of the category that carry neither the handled nor the failed tag."""
        done = {handled_tag, failed_tag}
        return [t for t in self.completed_torrents(category) if not (t.tags & done)]

    def files(self, torrent_hash: str) -> list[TorrentFile]:
        infos = self._call(self._client.torrents_files, torrent_hash=torrent_hash)
        return [
            TorrentFile(
                name=str(info["name"]),
                size=int(info.get("size", 0)),
                priority=int(info.get("priority", 1)),
                progress=float(info.get("progress", 1.0)),
            )
            for info in infos
        ]

    def add_tag(self, torrent_hash: str, tag: str):
        self._call(self._client.torrents_add_tags, tags=tag, torrent_hashes=torrent_hash)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (LoginRejected, LoginRefused):
            raise
        except qbittorrentapi.HTTP403Error:
            raise LoginRejected(
                f"qBittorrent at {self.settings.base_url} refused the request: enter its WebUI username and "
                "password in Settings"
            ) from None
        except qbittorrentapi.HTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", "?")
            raise QBittorrentError(f"qBittorrent answered HTTP {status}: {str(exc)[:300]}") from None
        except qbittorrentapi.APIConnectionError as exc:
            raise Unreachable(
                f"qBittorrent is unreachable at {self.settings.base_url}: {why_unreachable(exc)}"
            ) from None
        except qbittorrentapi.APIError as exc:
            raise QBittorrentError(f"qBittorrent error: {exc}"[:500]) from None


# Saving settings and the Test button must answer quickly even when the host drops packets.
TEST_TIMEOUTS = (3.0, 10.0)


@dataclass(frozen=True)
class Probe:
    version: str
    pending: int


def probe(settings: QBittorrentSettings) -> Probe:
    """Log in with these (possibly unsaved) settings as a person trying them, and count what waits.
    Raises a DownloadsError subclass."""
    with QBittorrent(settings, interactive=True, timeouts=TEST_TIMEOUTS) as qb:
        return Probe(qb.version(), len(qb.pending(settings.category, settings.handled_tag, settings.failed_tag)))
