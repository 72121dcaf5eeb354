"""Where Stash is and how to talk to it: the effective connection, demo mode, path translation.

Precedence, per value: the environment (STASH_URL, STASH_API_KEY) over the Settings row. With no URL in
either, STASH_DEMO_URL (exported by `manage.py runstack` when it started the built-in emulator) makes
the connection "demo". Sources are reported so pages can say where a value comes from.
"""

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from stash.connection import validation
from stash.connection.errors import StashAuthError, StashError, StashNotConfigured
from stash.connection.models import StashSettings
from stash.connection.paths import PathMapper

if TYPE_CHECKING:
    from stash.connection.client import StashClient

ENV_URL = "STASH_URL"
ENV_API_KEY = "STASH_API_KEY"
ENV_DEMO_URL = "STASH_DEMO_URL"
ENV_DEMO_API_KEY = "STASH_DEMO_API_KEY"

SOURCE_ENV = "environment"
SOURCE_DB = "database"
SOURCE_DEMO = "demo"
SOURCE_NONE = ""

# Saving settings and the Test button must answer quickly even when the host drops packets.
TEST_CONNECT_TIMEOUT = 3.0
TEST_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Connection:
    url: str
    url_source: str  # SOURCE_ENV, SOURCE_DB, SOURCE_DEMO or SOURCE_NONE (not configured)
    api_key: str
    api_key_source: str
    connect_timeout: float
    read_timeout: float

    @property
    def is_demo(self) -> bool:
        return self.url_source == SOURCE_DEMO

    def client(self, **options) -> "StashClient":
        # Imported here: the admin imports this module in every process, and most (daemon hosts, the
        # web server) never talk to Stash, so they need not load requests.
        from stash.connection.client import StashClient

        options = {"connect_timeout": self.connect_timeout, "read_timeout": self.read_timeout, **options}
        return StashClient(self.url, self.api_key, **options)


def env_value(name: str) -> str:
    """STASH_URL and STASH_API_KEY are read once at start-up, through settings like every other variable.
    The demo variables are read from the environment itself: runstack exports them after Django (and so
    the settings) loaded, just before it forks the processes that use them."""
    if name in (ENV_URL, ENV_API_KEY):
        return getattr(settings, name)
    return os.environ.get(name, "").strip()


def _env_url(name: str) -> str:
    """A URL from the environment, normalised like a saved one; a malformed one is kept as written, so
    the client's error names it instead of a different, "corrected" URL."""
    raw = env_value(name)
    try:
        return validation.clean_url(raw)
    except ValidationError:
        return raw


def env_overrides() -> dict[str, str]:
    """Settings fields whose value the environment decides: field name → variable name."""
    return {field: var for field, var in (("url", ENV_URL), ("api_key", ENV_API_KEY)) if env_value(var)}


def effective_connection(row: StashSettings | None = None) -> Connection:
    """The connection every client uses. `row` lets the Settings page try unsaved values."""
    row = row if row is not None else StashSettings.load()
    url, url_source = _env_url(ENV_URL), SOURCE_ENV
    if not url:
        url, url_source = row.url, SOURCE_DB
    if not url and env_value(ENV_DEMO_URL):
        url, url_source = _env_url(ENV_DEMO_URL), SOURCE_DEMO
    if not url:
        url_source = SOURCE_NONE
    api_key, key_source = env_value(ENV_API_KEY), SOURCE_ENV
    if not api_key and url_source == SOURCE_DEMO:
        # The emulator's key, if it was started with one; a stored key belongs to a real Stash.
        api_key, key_source = env_value(ENV_DEMO_API_KEY), SOURCE_DEMO
    elif not api_key:
        api_key, key_source = row.api_key, SOURCE_DB
    if not api_key:
        key_source = SOURCE_NONE
    return Connection(url, url_source, api_key, key_source, row.connect_timeout, row.read_timeout)


def get_client(**overrides) -> "StashClient":
    """A client for the effective connection (environment, then the Settings row, then demo mode).

    Raises StashNotConfigured when there is no Stash URL anywhere. `overrides` go to StashClient."""
    connection = effective_connection()
    if not connection.url:
        raise StashNotConfigured(
            "Stash is not configured: set its URL on the Settings page (/settings/) or in STASH_URL"
        )
    return connection.client(**overrides)


def is_demo_mode() -> bool:
    """True when we talk to the built-in emulator. Reads the database only when the environment cannot decide."""
    if env_value(ENV_URL) or not env_value(ENV_DEMO_URL):
        return False
    return not StashSettings.objects.filter(pk=StashSettings.SINGLETON_ID).exclude(url="").exists()


def check_connection(connection: Connection) -> dict:
    """Ask Stash for its version with short timeouts and no retries; raises a StashError with the exact cause."""
    if not connection.url:
        raise StashNotConfigured("No Stash URL to test: enter one, or set STASH_URL")
    client = connection.client(
        connect_timeout=min(connection.connect_timeout, TEST_CONNECT_TIMEOUT),
        read_timeout=min(connection.read_timeout, TEST_READ_TIMEOUT),
        attempts=1,
    )
    return client.version()


def connection_problem(row: StashSettings, before: Connection) -> tuple[str | None, str] | None:
    """Why saving `row` must be refused, as (field or None, message); None when it may be saved.

    Only a save that changes the effective URL or key asks Stash (its Version, short timeouts): that is
    when a typo would otherwise go unnoticed until a job fails. Editing path mappings while Stash is down
    stays possible."""
    after = effective_connection(row)
    if not after.url or (after.url, after.api_key) == (before.url, before.api_key):
        return None
    try:
        check_connection(after)
    except StashError as exc:
        if isinstance(exc, StashAuthError) and after.api_key_source != SOURCE_ENV:
            field = "api_key"
        elif after.url_source == SOURCE_DB:
            field = "url"
        else:
            field = None
        return field, f"{exc}. Nothing was saved."
    return None


def same_target(url: str, other: str) -> bool:
    """True when both URLs reach the same server: the same scheme, host and port (the path may differ).

    A stored secret (the API key, qBittorrent's password) is sent only to the target it was saved for;
    aimed anywhere else, it must be typed again (issue 14: Test sent the stored key to any URL)."""
    return bool(url) and bool(other) and _target(url) == _target(other)


def _target(url: str) -> tuple | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


DEFAULT_PORTS = {"http": 80, "https": 443}


def key_must_be_typed(candidate: Connection, before: Connection, *, typed: bool, action: str) -> str | None:
    """The message refusing to send a key the user did not type to another target than `before`'s
    (None when allowed). `typed`: the request gave a key (or explicitly none); `action`: "test"/"save"."""
    if not candidate.api_key or not candidate.url or same_target(candidate.url, before.url):
        return None
    if candidate.api_key_source == SOURCE_ENV:  # a typed key would not replace it: the environment wins
        return (
            f"The API key comes from {ENV_API_KEY} and goes only to the configured URL; "
            f"set {ENV_URL} too to use another."
        )
    if typed:
        return None
    return f"Type the API key again to {action} a different URL."


def mask_key(key: str) -> str:
    """What pages show instead of a stored key. The last four characters help tell keys apart; a short
    key shows none, since four characters would give away most of it."""
    if not key:
        return ""
    return "••••" + key[-4:] if len(key) >= 12 else "••••"


# --- paths -------------------------------------------------------------------------------------------


def path_mapper(row: StashSettings | None = None) -> PathMapper:
    """The Stash path mappings, plus the download library's own (its folder "as Stash sees it"), so a
    scan of new downloads reaches Stash under Stash's path even when no mapping covers the library."""
    from stash.downloads.models import QBittorrentSettings

    row = row if row is not None else StashSettings.load()
    return PathMapper.from_list(row.path_mappings + QBittorrentSettings.load().library_mapping())


def to_local_path(stash_path: str) -> str:
    """A path reported by Stash as this machine sees it (unchanged when no mapping covers it)."""
    return path_mapper().to_local(stash_path)


def stash_scan_paths(local_paths: list[str] | None = None) -> list[str]:
    """The paths a scan sends to Stash: the given local paths, else the configured default scan paths,
    translated to Stash's view. An empty list means "scan the whole library" (metadataScan without paths)."""
    row = StashSettings.load()
    mapper = path_mapper(row)
    return [mapper.to_stash(path) for path in (local_paths or row.scan_paths)]
