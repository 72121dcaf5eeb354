"""Validation of the Stash settings values, shared by the model, the Settings form, the admin and the API.

Each function returns the cleaned value or raises django.core.exceptions.ValidationError with a message
a user can act on.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from stash.connection.paths import normalize_dir

URL_MESSAGE = "Enter a URL with http:// or https://"
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


def clean_url(value: str) -> str:
    """A Stash base URL: http(s), a host, no query. Trailing slashes and a pasted "/graphql" are dropped."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValidationError(URL_MESSAGE + f" (a valid host and port), got {value!r}.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(URL_MESSAGE + f", e.g. http://localhost:9999 (got {value!r}).")
    if parts.query or parts.fragment:
        raise ValidationError("Enter Stash's base URL without ?query or #fragment, e.g. http://localhost:9999.")
    path = parts.path.rstrip("/")
    # People paste the endpoint they see in Stash's docs; the client adds /graphql itself.
    if path.endswith("/graphql"):
        path = path[: -len("/graphql")]
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def clean_timeout(value, label: str) -> float:
    if value is None or isinstance(value, bool):
        raise ValidationError(f"{label} must be a number of seconds.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label} must be a number of seconds.") from None
    if not value > 0:
        raise ValidationError(f"{label} must be more than 0 seconds.")
    if value > 3600:
        raise ValidationError(f"{label} must be at most 3600 seconds.")
    return value


def _absolute(path, *, allow_windows: bool, what: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise ValidationError(f"{what} must be a non-empty path.")
    path = path.strip()
    if not (path.startswith("/") or (allow_windows and _WINDOWS_ABSOLUTE.match(path))):
        raise ValidationError(f"{what} must be an absolute path (starting with /), got {path!r}.")
    return normalize_dir(path)


def clean_path_mappings(value, *, other: str = "stash", other_name: str = "Stash") -> list[dict]:
    """A list of {"local": LOCAL_DIR, other: OTHER_DIR}; absolute paths, each side used once.

    `other` is the machine that sees the library under its own paths (Stash by default, or the video
    tagger). Its side may be a Windows path (C:\\media) because it may run on Windows."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError(f'Path mappings must be a list of {{"local": …, "{other}": …}}.')
    cleaned, errors, seen = [], [], {"local": {}, other: {}}
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) != {"local", other}:
            errors.append(f'Mapping {number}: must have exactly "local" and "{other}".')
            continue
        try:
            pair = {
                "local": _absolute(item["local"], allow_windows=False, what="The local path"),
                other: _absolute(item[other], allow_windows=True, what=f"The {other_name} path"),
            }
        except ValidationError as exc:
            errors.append(f"Mapping {number}: {exc.messages[0]}")
            continue
        for side in ("local", other):
            # Two mappings for one prefix would make a translation ambiguous in one direction.
            previous = seen[side].setdefault(pair[side], number)
            if previous != number:
                errors.append(f"Mapping {number}: {side} path {pair[side]} is already mapped by mapping {previous}.")
        cleaned.append(pair)
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_scan_paths(value) -> list[str]:
    """Local directories a stash_scan job scans by default; empty means the whole library."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError("Scan paths must be a list of absolute paths.")
    cleaned, errors = [], []
    for number, item in enumerate(value, start=1):
        try:
            path = _absolute(item, allow_windows=False, what=f"Scan path {number}")
        except ValidationError as exc:
            errors.append(exc.messages[0])
            continue
        if path in cleaned:
            errors.append(f"Scan path {number}: {path} is listed twice.")
            continue
        cleaned.append(path)
    if errors:
        raise ValidationError(errors)
    return cleaned
