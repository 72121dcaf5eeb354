"""Durations in the words pages use ("45 s", "4 min", "1 h", "1 h 5 min"), never "3600 seconds".

static/js/live.js formats its countdowns with the same rules (`formatDuration`), so a page reads the
same before and after its first tick.
"""


def human_duration(seconds: float) -> str:
    """`seconds` rounded to its largest sensible unit: under a minute in seconds, under an hour in whole
    minutes, then hours and minutes, then days and hours. Negative durations read as "0 s"."""
    seconds = max(0.0, float(seconds))
    if round(seconds) < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
