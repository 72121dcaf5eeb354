"""The timeline strip as a page fragment (GET /daemons/<name>/timeline/?hours=24|168&compact=1), which
static/js/timeline.js fetches again when the daemon reports a new status; the pages draw the first one
themselves through the `timeline_strip` tag."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from daemons import timeline
from daemons.models import Daemon, TimelineKind

WIDTH = 1000  # the SVG's viewBox width; it scales to the card


def strip_context(daemon: Daemon, hours: int, compact: bool) -> dict:
    strip = timeline.strip(daemon, hours)
    span = strip.seconds or 1

    def x(moment) -> float:
        return round((moment - strip.start).total_seconds() / span * WIDTH, 2)

    def clock(moment) -> str:
        return timezone.localtime(moment).strftime("%H:%M" if hours <= 24 else "%a %H:%M")

    segments = []
    for seg in strip.segments:
        label = TimelineKind(seg.kind).label
        more = f" ({seg.statuses} statuses)" if seg.statuses > 1 else ""
        segments.append(
            {
                "x": x(seg.start),
                "w": max(round(x(seg.end) - x(seg.start), 2), 0.5),
                "kind": seg.kind,
                "title": f"{clock(seg.start)}–{clock(seg.end)} {label}: {seg.message}{more}",
                "url": f"/jobs/{seg.job_id}/" if seg.job_id else "",
            }
        )
    jobs = [
        {
            "x": x(job["start"]),
            "w": max(round(x(job["end"]) - x(job["start"]), 2), 2),
            "status": job["status"],
            "title": f"{job['type']} {job['status']}, {clock(job['start'])}–{clock(job['end'])}",
            "url": job["url"],
        }
        for job in strip.jobs
    ]
    ticks = []
    step = 6 if hours <= 24 else 24
    for n in range(0, hours + 1, step):
        moment = strip.start + (strip.end - strip.start) * n / hours
        ticks.append({"x": x(moment), "label": clock(moment)})
    shares = [
        (TimelineKind(kind).label, kind, round(100 * seconds / span))
        for kind, seconds in sorted(strip.time_in.items(), key=lambda item: -item[1])
    ]
    failed = sum(1 for job in strip.jobs if job["status"] == "failed")
    return {
        "daemon": daemon,
        "hours": hours,
        "compact": compact,
        "width": WIDTH,
        "segments": segments,
        "jobs": jobs,
        "ticks": ticks,
        "shares": shares,
        "job_count": len(strip.jobs),
        "failed_count": failed,
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
