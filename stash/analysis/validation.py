"""Validation of the video analysis settings values (model, Settings page, admin and API alike).

Each function returns the cleaned value or raises ValidationError with a message a user can act on.
"""

import math
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from stash.connection import validation

MAX_FRAME_INTERVAL = 3600.0  # the `analysis` job's own bound for frame_interval


def clean_tagger_url(value: str) -> str:
    """The tagger's base URL: http(s), a host, no query. Empty: the built-in analyzer. Trailing slashes
    and a pasted "/process_video" are dropped (the analysis adds /process_video/ itself)."""
    value = (value or "").strip()
    if not value:
        return ""
    example = "e.g. http://localhost:8084"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValidationError(f"Enter a URL with http:// or https:// (a valid host and port), got {value!r}.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"Enter a URL with http:// or https://, {example} (got {value!r}).")
    if parts.query or parts.fragment:
        raise ValidationError(f"Enter the tagger's base URL without ?query or #fragment, {example}.")
    path = parts.path.rstrip("/")
    if path.endswith("/process_video"):
        path = path[: -len("/process_video")]
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def _seconds(value, label: str, *, minimum: float, maximum: float | None = None) -> float:
    if value is None or isinstance(value, bool):
        raise ValidationError(f"{label} must be a number of seconds.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label} must be a number of seconds.") from None
    if not math.isfinite(value):
        raise ValidationError(f"{label} must be a number of seconds.")
    if value < minimum:
        raise ValidationError(f"{label} must be at least {_duration(minimum)}.")
    if maximum is not None and value > maximum:
        raise ValidationError(f"{label} must be at most {_duration(maximum)}.")
    return value


def _duration(seconds: float) -> str:
    return "1 second" if seconds == 1 else f"{seconds:g} seconds"


def clean_tagger_timeout(value) -> float:
    return _seconds(value, "The tagger timeout", minimum=1)


def clean_frame_interval(value) -> float:
    return _seconds(value, "The frame interval", minimum=0.1, maximum=MAX_FRAME_INTERVAL)


def clean_marker_interval(value) -> float:
    return _seconds(value, "The marker interval", minimum=1)


def clean_max_markers(value) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("The most markers per scene must be a whole number, 0 or more (0: no markers).")
    return value


def clean_tagger_path_mappings(value) -> list[dict]:
    """[{"local": LOCAL_DIR, "tagger": TAGGER_DIR}]: this machine's library directories as the tagger sees them."""
    return validation.clean_path_mappings(value, other="tagger", other_name="tagger")
