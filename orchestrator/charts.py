"""Server-rendered SVG charts: stacked bars and lines, as finished <svg> markup.

No JavaScript and no charting bundle: the page gets the <svg>, readable in dark mode (colours are CSS
classes), with a <title> per bar or point for hover; templates put a table of the same numbers beside
every chart for tap, screen readers and copying. The markup is built here rather than in a template loop
because a month of hourly bars is a few thousand elements, which Django's template engine renders slowly
(bench/history.py); every text is escaped.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 200
PAD_LEFT = 44  # room for the y-axis numbers
PAD_BOTTOM = 22  # room for the x labels
PAD_TOP = 8


def _nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


class _Frame:
    def __init__(self, maximum: float, width: int, height: int, count: int):
        self.width, self.height = width, height
        self.top, self.bottom, self.left = PAD_TOP, height - PAD_BOTTOM, PAD_LEFT
        self.maximum = _nice_max(maximum)
        self.step = (width - PAD_LEFT) / max(count, 1)

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / self.maximum

    def grid(self) -> list[str]:
        parts = []
        for n in range(5):
            value = self.maximum * n / 4
            y = round(self.y(value), 1)
            parts.append(
                f'<line class="chart-grid" x1="{self.left}" x2="{self.width}" y1="{y}" y2="{y}"/>'
                f'<text class="chart-axis" x="{self.left - 6}" y="{y}" text-anchor="end" '
                f'dominant-baseline="middle">{_number(value)}</text>'
            )
        return parts

    def labels(self, labels: list[str], max_labels: int) -> list[str]:
        every = max(1, -(-len(labels) // max_labels))
        return [
            f'<text class="chart-axis" x="{round(self.left + self.step * (n + 0.5), 1)}" y="{self.height - 6}" '
            f'text-anchor="middle">{escape(label)}</text>'
            for n, label in enumerate(labels)
            if n % every == 0
        ]

    def svg(self, title: str, chart_id: str, body: list[str]) -> SafeString:
        return mark_safe(  # noqa: S308 — every text above went through escape()
            f'<svg viewBox="0 0 {self.width} {self.height}" role="img" aria-labelledby="{chart_id}-title" '
            f'class="chart-svg"><title id="{chart_id}-title">{escape(title)}</title>{"".join(body)}</svg>'
        )


def stacked_bars(columns, series, *, title: str, chart_id: str, width=WIDTH, height=HEIGHT, max_labels=8):
    """`columns`: [{"label": "14:00", "values": {series_key: number}}]; `series`: [(key, css class)].
    Each column is one bar of stacked parts, in the order of `series`."""
    totals = [sum(c["values"].get(key, 0) for key, _ in series) for c in columns]
    frame = _Frame(max(totals, default=0), width, height, len(columns))
    body = frame.grid()
    bar_width = round(frame.step * 0.8, 1)
    for n, column in enumerate(columns):
        x = round(frame.left + frame.step * n + frame.step * 0.1, 1)
        words = ", ".join(f"{column['values'].get(key, 0)} {key}" for key, _ in series)
        parts, base = [], 0.0
        for key, css in series:
            value = column["values"].get(key, 0)
            if value:
                top = frame.y(base + value)
                parts.append(
                    f'<rect class="{css}" x="{x}" y="{round(top, 1)}" width="{bar_width}" '
                    f'height="{round(frame.y(base) - top, 1)}"/>'
                )
                base += value
        body.append(
            f'<g class="chart-bar"><title>{escape(column["label"])}: {escape(words)}</title>'
            f'<rect class="chart-hit" x="{x}" y="{frame.top}" width="{bar_width}" height="{frame.bottom - frame.top}"/>'
            f"{''.join(parts)}</g>"
        )
    body += frame.labels([c["label"] for c in columns], max_labels)
    return frame.svg(title, chart_id, body)


def line(points, *, title: str, chart_id: str, width=WIDTH, height=HEIGHT, max_labels=8, unit=""):
    """`points`: [{"label": "14:00", "value": number}], drawn left to right at equal spacing."""
    frame = _Frame(max((p["value"] for p in points), default=0), width, height, len(points))
    body = frame.grid()
    coords, dots = [], []
    for n, point in enumerate(points):
        x, y = round(frame.left + frame.step * (n + 0.5), 1), round(frame.y(point["value"]), 1)
        coords.append(f"{x},{y}")
        dots.append(
            f'<g class="chart-bar"><title>{escape(point["label"])}: {point["value"]}{escape(unit)}</title>'
            f'<circle class="chart-dot" cx="{x}" cy="{y}" r="3"/></g>'
        )
    if coords:
        body.append(f'<polyline class="chart-line" points="{" ".join(coords)}"/>')
    body += dots + frame.labels([p["label"] for p in points], max_labels)
    return frame.svg(title, chart_id, body)
