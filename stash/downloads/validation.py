"""Validation of the qBittorrent settings values (model, Settings page and admin alike).

Each function returns the cleaned value or raises ValidationError with a message a user can act on.
"""

import re
import shutil
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from stash.connection.paths import normalize_dir

# A host name, an IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?)$")
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")
MAX_MIN_VIDEO_SECONDS = 24 * 3600


def clean_host(value: str) -> str:
    """`qbittorrent`, `192.168.1.5`, or the same with http:// or https:// (the port has its own field)."""
    value = (value or "").strip()
    if not value:
        return ""
    scheme, host = "", value
    if "://" in value:
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValidationError(f"Enter a host name or IP address, e.g. localhost (got {value!r}).") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValidationError(f"Only http:// and https:// work with qBittorrent's WebUI (got {value!r}).")
        if port is not None:
            raise ValidationError("Put the port in the Port field, not after the host.")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise ValidationError("Enter only the host (e.g. https://qbittorrent.lan), without a path.")
        scheme, host = parts.scheme.lower() + "://", parts.netloc
    elif ":" in value and not value.startswith("["):
        raise ValidationError("Put the port in the Port field, not after the host.")
    if not _HOST.match(host):
        raise ValidationError(f"Enter a host name or IP address, e.g. localhost (got {value!r}).")
    return scheme + host.lower()


def clean_port(value) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError("The port must be a number from 1 to 65535 (qBittorrent's default is 8080).")
    return value


def clean_category(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError("Enter the qBittorrent category whose torrents are processed.")
    if "\\" in value or "//" in value or value.startswith("/") or value.endswith("/"):
        raise ValidationError(f"{value!r} is not a valid qBittorrent category name.")
    return value


def clean_tag(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{label} cannot be empty.")
    if "," in value:
        raise ValidationError(f"{label} cannot contain a comma (qBittorrent separates tags with commas).")
    return value


def clean_library_path(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if not value.startswith("/"):
        raise ValidationError(f"The library folder must be an absolute path (starting with /), got {value!r}.")
    path = normalize_dir(value)
    if path == "/":
        raise ValidationError("The library folder cannot be the root folder.")
    return path


def clean_library_stash_path(value: str) -> str:
    """Stash may run on Windows, so C:\\media is accepted too."""
    value = (value or "").strip()
    if not value:
        return ""
    if not (value.startswith("/") or _WINDOWS_ABSOLUTE.match(value)):
        raise ValidationError(f"The folder as Stash sees it must be an absolute path, got {value!r}.")
    return normalize_dir(value)


def clean_min_video_seconds(value) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("The minimum video duration must be a whole number of seconds (0: no minimum).")
    if value > MAX_MIN_VIDEO_SECONDS:
        raise ValidationError(f"The minimum video duration must be at most {MAX_MIN_VIDEO_SECONDS} seconds.")
    if value and not shutil.which(ffprobe_binary()):
        raise ValidationError(
            f"Measuring durations needs ffprobe ({ffprobe_binary()!r} was not found): install ffmpeg, or set 0."
        )
    return value


def ffprobe_binary() -> str:
    return getattr(settings, "FFPROBE_BINARY", "") or "ffprobe"
