"""Display formats for mirrored scene data (durations, bit rates, counts)."""

from django import template

register = template.Library()


@register.filter
def clock(seconds) -> str:
    """Seconds as a video player shows them: 42:07, 1:02:03. Empty for unknown."""
    if seconds is None or seconds == "":
        return ""
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def bitrate(bits_per_second) -> str:
    """Stash reports bit rates in bits per second: 5 234 000 → "5.23 Mb/s"."""
    if not bits_per_second:
        return ""
    value = float(bits_per_second)
    for unit in ("b/s", "kb/s", "Mb/s"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} Gb/s"


@register.filter
def thousands(number) -> str:
    """1234567 → "1,234,567" (without pulling in django.contrib.humanize for one filter)."""
    return f"{int(number):,}"


@register.filter
def minus(number, other) -> int:
    """How many are left after the first `other` ("+3" more tags)."""
    return int(number) - int(other)


@register.filter
def sorted_items(mapping) -> list:
    """A dict's items by key (fingerprints: md5, oshash, phash); safe for a key named "items"."""
    return sorted(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def web_url(value) -> bool:
    """Only http(s) URLs from Stash become links: a `javascript:` URL in synced data must stay text."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))
