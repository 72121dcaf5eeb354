"""The timeline strip as a page fragment (GET /daemons/<name>/timeline/?hours=24|168&compact=1), which
static/js/timeline.js fetches again when the daemon reports a new status; the pages draw the first one
themselves through the `timeline_strip` tag. The SVG's shapes are built here, not in a template loop: a
day's strip is hundreds of them, which the template engine would render far slower."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from daemons import timeline
from daemons.models import Daemon, TimelineKind
from orchestrator.paths import job_path

WIDTH = 1000  # the SVG's viewBox width; it scales to the card
LABELS = dict(TimelineKind.choices)


def strip_context(daemon: Daemon, hours: int, compact: bool) -> dict:
    strip = timeline.strip(daemon, hours)
    span = strip.seconds or 1
    clock_format = "%H:%M" if hours <= 24 else "%a %H:%M"

    def x(moment) -> float:
        return round((moment - strip.start).total_seconds() / span * WIDTH, 2)

    def clock(moment) -> str:
        return timezone.localtime(moment).strftime(clock_format)

    height = 14 if compact else 24
    parts = []
    for seg in strip.segments:
        left, right = x(seg.start), x(seg.end)
        more = f" ({seg.statuses} statuses)" if seg.statuses > 1 else ""
        title = escape(f"{clock(seg.start)}–{clock(seg.end)} {LABELS[seg.kind]}: {seg.message}{more}")
        rect = (
            f'<rect class="tl-{seg.kind}" x="{left}" y="0" width="{max(round(right - left, 2), 0.5)}" '
            f'height="{height}" data-detail="{title}"><title>{title}</title></rect>'
        )
        # A job's page is linked from the strip only where the lower row does not already link it.
        parts.append(f'<a href="{escape(job_path(seg.job_id))}">{rect}</a>' if seg.job_id and compact else rect)
    if not compact:
        for job in strip.jobs:
            left, right = x(job["start"]), x(job["end"])
            title = escape(f"{job['type']} {job['status']}, {clock(job['start'])}–{clock(job['end'])}")
            parts.append(
                f'<a href="{escape(job["url"])}"><rect class="tl-job tl-job-{escape(job["status"])}" x="{left}" '
                f'y="30" width="{max(round(right - left, 2), 2)}" height="12" data-detail="{title}">'
                f"<title>{title}</title></rect></a>"
            )
    step = 6 if hours <= 24 else 24
    ticks = [clock(strip.start + (strip.end - strip.start) * n / hours) for n in range(0, hours + 1, step)]
    shares = [
        (LABELS[kind], kind, round(100 * seconds / span))
        for kind, seconds in sorted(strip.time_in.items(), key=lambda item: -item[1])
    ]
    return {
        "daemon": daemon,
        "hours": hours,
        "compact": compact,
        "width": WIDTH,
        "shapes": mark_safe("".join(parts)),  # noqa: S308 — every text went through escape()
        "ticks": ticks,
        "shares": shares,
        "job_count": len(strip.jobs),
        "failed_count": sum(1 for job in strip.jobs if job["status"] == "failed"),
        "windows": timeline.WINDOWS,
    }


@login_required
def daemon_timeline(request, name):
    daemon = get_object_or_404(Daemon, name=name)
    raw = request.GET.get("hours", "24")
    if not raw.isdigit() or int(raw) not in timeline.WINDOWS:
        return HttpResponseBadRequest(f"hours must be one of {', '.join(map(str, timeline.WINDOWS))}")
    compact = request.GET.get("compact") == "1"
    return render(request, "daemons/_timeline.html", strip_context(daemon, int(raw), compact))
