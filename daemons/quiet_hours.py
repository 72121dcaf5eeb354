"""Quiet hours: the daily window in which a daemon may start new work (e.g. generation only 01:00-07:00).

A daemon's `quiet_hours` setting is "HH:MM-HH:MM" (24-hour clock) or empty (any time). Outside the
window the daemon starts nothing new and says "Quiet hours until 01:00"; what it watches runs to its end.
A window may cross midnight ("22:00-06:00"). Times are read in the server's time zone, Django's
TIME_ZONE (the `TIME_ZONE` environment variable, UTC by default), the zone every page shows times in.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from orchestrator.typed import Field

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
FORMAT_HELP = 'a daily window "HH:MM-HH:MM" such as "01:00-07:00" (24-hour clock), or empty for any time'


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def is_open(self, now: datetime) -> bool:
        """Whether `now` (aware) falls inside the window, in TIME_ZONE."""
        t = timezone.localtime(now).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # the window crosses midnight

    def opens_at(self, now: datetime) -> datetime:
        """The next start of the window after `now` (aware, in TIME_ZONE)."""
        local = timezone.localtime(now)
        zone = local.tzinfo
        for days in (0, 1, 2):
            day = (local + timedelta(days=days)).date()
            candidate = datetime.combine(day, self.start, tzinfo=zone)
            if candidate > local:
                return candidate
        raise AssertionError("unreachable: a window opens at least once a day")


def parse(text: str | None) -> Window | None:
    """The window `text` names, or None for no quiet hours; ValueError with the reason otherwise."""
    if text is None or not str(text).strip():
        return None
    match = _WINDOW.match(str(text))
    if not match:
        raise ValueError(f"Not a time window: give {FORMAT_HELP}.")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError("Hours go from 00 to 23 and minutes from 00 to 59.")
    window = Window(time(h1, m1), time(h2, m2))
    if window.start == window.end:
        raise ValueError("The window is empty: its start and end are the same time. Leave it empty for any time.")
    return window


def _validate(value: str):
    try:
        window = parse(value)
    except ValueError as exc:
        return None, str(exc)
    return (str(window) if window else ""), None


# The setting every production daemon keeps (added to each kind's schema, like HEARTBEAT_INTERVAL).
QUIET_HOURS = Field(
    "quiet_hours",
    str,
    "",
    "Only start new work within this daily window, e.g. 01:00-07:00, in the server's time zone "
    "(TIME_ZONE); empty: any time. What is running when the window closes finishes.",
    validator=_validate,
    nullable=True,  # null (an empty or missing form input) means none, like ""
)


def window_of(config: dict) -> Window | None:
    """A configuration's window (an invalid stored value reads as none; saving one is refused)."""
    try:
        return parse(config.get("quiet_hours"))
    except ValueError:
        return None
