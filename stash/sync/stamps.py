"""Stash's timestamps, kept as the strings Stash wrote them.

Stash stores times as RFC 3339 strings in its own time zone (e.g. `2026-01-05T14:03:22-08:00`, or `Z` on a
UTC server) and its `updated_at` filters compare those strings. So the incremental watermark is always a
string Stash itself returned, moved back by the overlap window in the same zone and format, never a time
we computed in ours.
"""

from datetime import datetime, timedelta


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
