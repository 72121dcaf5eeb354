"""Times the way Stash writes them.

Stash keeps created_at/updated_at as text in its own time zone, formatted like Go's time.RFC3339
(`2026-01-05T14:03:22-08:00`, `Z` for UTC, whole seconds), and its SQL compares those strings as strings.
Job times come from time.Now() and go out through gqlgen's Time scalar, i.e. RFC3339Nano (fraction with
trailing zeros dropped). The emulator stores and compares the same strings, so code that assumes UTC, or
compares instants where Stash compares text, fails here the way it would against Stash.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "America/Los_Angeles"


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _offset(dt: datetime) -> str:
    offset = dt.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def format_time(dt: datetime, zone: ZoneInfo) -> str:
    """Go's RFC3339 in `zone`: whole seconds."""
    local = dt.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + _offset(local)


def format_time_nano(dt: datetime, zone: ZoneInfo) -> str:
    """Go's RFC3339Nano in `zone`: a fraction only when there is one, without trailing zeros."""
    local = dt.astimezone(zone)
    fraction = f".{local.microsecond:06d}".rstrip("0") if local.microsecond else ""
    return local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + _offset(local)


def parse_time(value: str, zone: ZoneInfo) -> datetime:
    """A criterion or control value: RFC3339 (`Z` or an offset, any fraction), `YYYY-MM-DD HH:MM[:SS]` or
    `YYYY-MM-DD`. Values without an offset are read in `zone`, as Stash reads them in its own."""
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError(f"invalid time {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def normalise(value: str, zone: ZoneInfo) -> str:
    """A criterion value as the string Stash would compare: parsed, moved to `zone`, formatted again."""
    return format_time(parse_time(value, zone), zone)


def utc_now() -> datetime:
    return datetime.now(UTC)
