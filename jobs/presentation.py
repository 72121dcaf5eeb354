"""How a job's page reads: the error first (its traceback folded away), the result as a table with ids
turned into links, what the job made or belongs to (an analysis's plan, a plan's apply jobs, a download
job's files), the progress line in words that fit the type, and who started it."""

from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs.models import Job
from orchestrator.paths import daemon_path, job_path, plan_path
from stash.downloads.models import HandledDownload
from stash.plans.models import AnalysisPlan

# Result keys whose values are ids of something with a page.
SCENE_KEYS = ("scene_id", "scene_ids", "scenes_failed", "failed_scene_ids", "scene_ids_failed")
JOB_KEYS = ("job_id", "scan_job_id", "parent_job_id", "apply_job_id")
PLAN_KEYS = ("plan_id",)
HIDDEN_KEYS = ("traceback",)  # results of jobs from before Job.traceback kept it here
LIST_SHOWN = 30  # ids listed before "… and N more"


@dataclass
class ResultRow:
    label: str
    value: SafeString


@dataclass
class Related:
    label: str
    links: list = field(default_factory=list)  # [(text, url)]
    more: int = 0


def error_summary(job: Job, *, with_traceback: bool) -> tuple[str, str]:
    """(the error's first line, everything else: the rest of the message and, for staff, the traceback:
    it names paths on the server, so other accounts do not see it, as the API does not return it)."""
    lines = (job.error or "").strip().splitlines()
    first, rest = (lines[0], "\n".join(lines[1:])) if lines else ("", "")
    traceback = job.traceback if with_traceback else ""
    details = "\n\n".join(part for part in (rest, traceback) if part)
    return first, details


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _link_list(values, url) -> SafeString:
    shown = [v for v in values if isinstance(v, int | str) and str(v)][:LIST_SHOWN]
    links = format_html_join(", ", '<a href="{}">{}</a>', ((url(v), v) for v in shown))
    more = len(values) - len(shown)
    return format_html('{} <span class="muted">… and {} more</span>', links, more) if more > 0 else links


def _value(key: str, value) -> SafeString:
    if key in SCENE_KEYS or (key.endswith("scene_ids") and isinstance(value, list)):
        items = value if isinstance(value, list) else [value]
        return _link_list([v for v in items if isinstance(v, int)], lambda v: f"/scenes/{v}/")
    if key in JOB_KEYS and isinstance(value, str) and value:
        return format_html('<a href="{}">{}</a>', job_path(value), value[:8])
    if key in PLAN_KEYS and isinstance(value, int):
        return format_html('<a href="{}">Plan {}</a>', plan_path(value), value)
    if isinstance(value, bool) or value is None:
        return format_html("{}", {True: "yes", False: "no", None: "—"}[value])
    if isinstance(value, int | float):
        return format_html("{}", f"{value:,}" if isinstance(value, int) else f"{value:,.2f}")
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(v, int | float | str | bool) or v is None for v in value.values())
    ):
        return format_html_join(", ", "{}: {}", ((_label(k), v) for k, v in sorted(value.items())))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return format_html_join("", "<div>{}</div>", ((v,) for v in value[:LIST_SHOWN]))
    if isinstance(value, str):
        return format_html("{}", value)
    return format_html('<code class="muted">{}</code>', str(value)[:500])


def result_rows(job: Job) -> list[ResultRow]:
    if not isinstance(job.result, dict):
        return []
    return [ResultRow(_label(key), _value(key, value)) for key, value in job.result.items() if key not in HIDDEN_KEYS]


def related(job: Job) -> list[Related]:
    """Links to what this job made, fed or belongs to."""
    found = []
    plans = list(AnalysisPlan.objects.filter(source_job_id=job.pk).order_by("id")[:10])
    if plans:
        found.append(Related("Plan made", [(plan.name, plan_path(plan.pk)) for plan in plans]))
    plan_id = (job.parameters or {}).get("plan_id")
    if job.type == "apply_plan" and isinstance(plan_id, int):
        plan = AnalysisPlan.objects.filter(pk=plan_id).first()
        found.append(Related("Applies", [(plan.name if plan else f"Plan {plan_id} (deleted)", plan_path(plan_id))]))
    if job.type == "process_downloads":
        files = HandledDownload.objects.filter(job_id=job.pk).order_by("torrent_name", "relative_path")
        count = files.count()
        if count:
            links = [
                (f"{f.relative_path} ({f.get_status_display()})", f"/downloads/?group=job#job-{job.pk}")
                for f in files[:LIST_SHOWN]
            ]
            found.append(Related("Files", links, more=count - len(links)))
    return found


def progress_text(job: Job) -> str:
    """ "40% · 12 / 30 items" where the type counts items; "100%" alone where it does not (a Stash
    generate follows Stash's percentage, with no item count)."""
    percent = f"{job.progress:.0f}%"
    if job.total_items:
        return f"{percent} · {job.processed_items:,} / {job.total_items:,} items"
    if job.processed_items:
        return f"{percent} · {job.processed_items:,} items"
    return percent


def started_by(job: Job) -> SafeString:
    if job.created_by:
        return format_html('the daemon <a href="{}">{}</a>', daemon_path(job.created_by), job.created_by)
    if job.requested_by:
        return format_html("{}", job.requested_by)
    if job.parent_id:
        return format_html('the job <a href="{}">{}</a>', job_path(job.parent_id), str(job.parent_id)[:8])
    if job.retry_of_id:
        return format_html('a retry of <a href="{}">{}</a>', job_path(job.retry_of_id), str(job.retry_of_id)[:8])
    return format_html('<span class="muted">{}</span>', "not recorded (a job from before this version)")
