"""Server-rendered SVG charts: the geometry of stacked bar and line charts, for templates to draw.

No JavaScript and no charting bundle: the page gets finished <svg> elements, readable in dark mode (the
colours are CSS classes), with a <title> per bar for hover and a table of the same numbers beside every
chart for tap, screen readers and copying (templates/includes/chart_*.html).
"""

from dataclasses import dataclass, field

WIDTH = 720
HEIGHT = 200
PAD_LEFT = 44  # room for the y-axis numbers
PAD_BOTTOM = 22  # room for the x labels
PAD_TOP = 8


@dataclass
class Chart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    plot_left: int
    ticks: list = field(default_factory=list)  # [{y, label}]
    labels: list = field(default_factory=list)  # [{x, label}]
    bars: list = field(default_factory=list)  # [{x, w, title, parts: [{y, h, css}]}]
    line: str = ""  # polyline points
    dots: list = field(default_factory=list)  # [{x, y, title}]
    maximum: float = 0


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


def _frame(maximum: float, width: int, height: int) -> Chart:
    chart = Chart(width, height, PAD_TOP, height - PAD_BOTTOM, PAD_LEFT, maximum=_nice_max(maximum))
    for n in range(5):
        value = chart.maximum * n / 4
        chart.ticks.append({"y": round(_y(chart, value), 1), "label": _number(value)})
    return chart


def _y(chart: Chart, value: float) -> float:
    return chart.plot_bottom - (chart.plot_bottom - chart.plot_top) * value / chart.maximum


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _x_labels(chart: Chart, labels: list[str], step: float, every: int):
    for n, label in enumerate(labels):
        if n % every == 0:
            chart.labels.append({"x": round(chart.plot_left + step * (n + 0.5), 1), "label": label})


def stacked_bars(columns: list[dict], series: list[tuple[str, str]], *, width=WIDTH, height=HEIGHT, max_labels=8):
    """`columns`: [{"label": "14:00", "values": {series_key: number}}]; `series`: [(key, css class)].
    Each column is one bar of stacked parts, in the order of `series`."""
    totals = [sum(c["values"].get(key, 0) for key, _ in series) for c in columns]
    chart = _frame(max(totals, default=0), width, height)
    step = (width - PAD_LEFT) / max(len(columns), 1)
    for n, column in enumerate(columns):
        x = chart.plot_left + step * n
        parts, base = [], 0.0
        for key, css in series:
            value = column["values"].get(key, 0)
            if value:
                top = _y(chart, base + value)
                parts.append({"y": round(top, 1), "h": round(_y(chart, base) - top, 1), "css": css})
                base += value
        words = ", ".join(f"{column['values'].get(key, 0)} {key}" for key, _ in series)
        chart.bars.append(
            {
                "x": round(x + step * 0.1, 1),
                "w": round(step * 0.8, 1),
                "parts": parts,
                "title": f"{column['label']}: {words}",
            }
        )
    _x_labels(chart, [c["label"] for c in columns], step, max(1, -(-len(columns) // max_labels)))
    return chart


def line(points: list[dict], *, width=WIDTH, height=HEIGHT, max_labels=8, unit=""):
    """`points`: [{"label": "14:00", "value": number}], drawn left to right at equal spacing."""
    chart = _frame(max((p["value"] for p in points), default=0), width, height)
    step = (width - PAD_LEFT) / max(len(points), 1)
    coords = []
    for n, point in enumerate(points):
        x, y = round(chart.plot_left + step * (n + 0.5), 1), round(_y(chart, point["value"]), 1)
        coords.append(f"{x},{y}")
        chart.dots.append({"x": x, "y": y, "title": f"{point['label']}: {point['value']}{unit}"})
    chart.line = " ".join(coords)
    _x_labels(chart, [p["label"] for p in points], step, max(1, -(-len(points) // max_labels)))
    return chart
