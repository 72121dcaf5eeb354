"""Tiny typed readers for environment settings.

Each reader rejects a malformed value with a message naming the variable, so a typo in a deployment
fails at start-up instead of surfacing later as odd behaviour.
"""

import json
import os
import secrets
from functools import cache, partial
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_number(name: str, default: float | None, *, minimum: float | None = None, integer: bool = False):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_json(name: str, default):
    """A JSON value (e.g. a list of objects); empty or unset gives `default`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be valid JSON: {exc}") from None


def usable_data_dir(data_dir: Path) -> Path:
    """DATA_DIR, created if missing, once it is known that files can be written in it; else one clear
    ImproperlyConfigured naming the variable and the path (not a traceback from deep inside SQLite).
    The probe file is removed at once: nothing is left behind."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = _probe(data_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ImproperlyConfigured(
            f"DATA_DIR={data_dir} is not a folder this process can write to ({reason}); "
            "set DATA_DIR to a writable folder"
        ) from None
    return data_dir


def _probe(data_dir: Path):
    path = data_dir / f".write-test-{os.getpid()}-{secrets.token_hex(4)}"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path


def persistent_secret_key(data_dir: Path):
    """SECRET_KEY from the environment, or one generated once and kept under data_dir.

    The file is read (or written) on first use, when something is signed (a session, a CSRF token),
    not when settings load: an operator command run against the wrong DATA_DIR signs nothing and so
    leaves no key file behind."""
    from_env = env_str("SECRET_KEY")
    if from_env:
        return from_env
    return lazy(partial(_key_file, data_dir), str)()


@cache
def _key_file(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: when several processes start at once, exactly one writes the key and the rest read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
