"""Stash's timestamps, kept as the strings Stash wrote them.

Stash stores times as RFC 3339 strings in its own time zone (e.g. `2026-01-05T14:03:22-08:00`, or `Z` on a
UTC server) and its `updated_at` filters compare those strings. So the incremental watermark is always a
string Stash itself returned, moved back by the overlap window in the same zone and format, never a time
we computed in ours. Around a daylight-saving change Stash's strings stop sorting in time order (after a
fall-back the repeated hour sorts before its first pass); `after_value` and `ambiguous` account for that.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


def parse(value) -> datetime | None:
    """An aware datetime for a Stash time string; None for null, empty or unreadable values."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A time without an offset cannot be placed; treating it as ours would shift it by hours.
    return parsed if parsed.tzinfo is not None else None


def later(a: str, b: str) -> str:
    """The later of two Stash time strings (either may be empty)."""
    pa, pb = parse(a), parse(b)
    if pa is None:
        return b if pb is not None else ""
    if pb is None:
        return a
    return b if pb > pa else a


def minus(value: str, seconds: float) -> str:
    """`value` moved back by `seconds`, in the same zone offset and style as Stash wrote it."""
    parsed = parse(value)
    if parsed is None:
        return ""
    moved = (parsed - timedelta(seconds=seconds)).isoformat()
    if value.strip().endswith("Z") and moved.endswith("+00:00"):
        moved = moved[: -len("+00:00")] + "Z"
    return moved


# Longer than any backward change of a zone's offset in the tz database (Antarctica/Troll's is 2 hours).
MAX_SHIFT = timedelta(hours=3)
_SAMPLE = timedelta(minutes=10)  # offsets never change back and forth within this


@lru_cache(maxsize=1)
def _zones() -> tuple[ZoneInfo, ...]:
    zones = []
    for name in sorted(available_timezones()):
        try:
            zones.append(ZoneInfo(name))
        except (ValueError, OSError):
            continue
    return tuple(zones)


def _offsets_near(at: datetime, start: timedelta, end: timedelta) -> set[timedelta]:
    """The offsets in force from `at + start` to `at + end` in every zone that shows `at`'s offset at `at`:
    the zones Stash may be in, since only its offset is known."""
    offset = at.utcoffset()
    candidates = [zone for zone in _zones() if at.astimezone(zone).utcoffset() == offset]
    samples = [at + start + _SAMPLE * k for k in range(int((end - start) / _SAMPLE) + 1)] + [at + end]
    return {offset, *(t.astimezone(zone).utcoffset() for zone in candidates for t in samples)}


def _rfc3339(instant: datetime, offset: timedelta) -> str:
    """Go's RFC 3339 at a fixed offset, whole seconds, as Stash writes times."""
    text = instant.astimezone(dt_timezone(offset)).replace(microsecond=0).isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def after_value(watermark: str, overlap_seconds: float = 0) -> str:
    """The value for Stash's `updated_at GREATER_THAN` filter that returns every row stamped after the
    instant `watermark - overlap_seconds`, although Stash compares its strings rather than instants.

    In normal hours that is `minus(watermark, overlap_seconds)`. When Stash's zone may change its offset
    within MAX_SHIFT of that instant, rows stamped after it can carry a smaller offset and so an earlier
    wall-clock text (the hour a fall-back repeats; the hour before a spring-forward, for the overlap): the
    value is then written in the smallest offset in force, which moves its text back by the change. It
    can also match rows stamped before the instant; `ambiguous` says when."""
    parsed = parse(watermark)
    if parsed is None:
        return ""
    start = -timedelta(seconds=overlap_seconds)
    smallest = min(_offsets_near(parsed, start, start + MAX_SHIFT))
    if smallest == parsed.utcoffset():
        return minus(watermark, overlap_seconds)
    return _rfc3339(parsed + start, smallest)


def ambiguous(watermark: str) -> bool:
    """Whether Stash's zone may change its offset within MAX_SHIFT of `watermark`: then its strings
    around it do not sort in time order, and "changed after it" must be told by instants, not by text."""
    parsed = parse(watermark)
    return parsed is not None and len(_offsets_near(parsed, -MAX_SHIFT, MAX_SHIFT)) > 1
