"""Download pages: the qBittorrent settings and the Downloads page (what happened to each torrent and file).

The Downloads page reads only the database: it never logs in to qBittorrent on a page load (a page left
open must not spend failed logins). Its "Process now" button starts a `process_downloads` job through
orchestrator.job_queue (stash must not import jobs).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from orchestrator import job_queue
from stash.downloads import login
from stash.downloads.forms import QBittorrentSettingsForm, mask_password, stash_view_of_library
from stash.downloads.listing import PROBLEM_OUTCOMES, latest_first, torrent_groups, torrent_keys
from stash.downloads.models import FileStatus, HandledDownload, QBittorrentSettings, TorrentOutcome

PAGE_SIZE = 25
GROUPS = ("torrent", "job")


@login_required
@require_http_methods(["GET", "POST"])
def qbittorrent_settings(request):
    row = QBittorrentSettings.load()
    if request.method == "POST":
        form = QBittorrentSettingsForm(request.POST, instance=row)
        if form.is_valid():
            form.save()
            if form.warning:
                messages.warning(request, form.warning)
            elif form.probe:
                messages.success(
                    request,
                    f"qBittorrent settings saved; logged in to qBittorrent {form.probe.version} "
                    f"({form.probe.pending} finished torrents wait to be processed).",
                )
            else:
                messages.success(request, "qBittorrent settings saved.")
            return redirect("downloads:settings")
        return _render_settings(request, form, status=400)
    return _render_settings(request, QBittorrentSettingsForm(instance=row))


@login_required
@require_POST
def qbittorrent_test(request):
    """Try the values in the form without saving them."""
    form = QBittorrentSettingsForm(request.POST, instance=QBittorrentSettings.load(), check_login=False)
    if not form.is_valid():
        return _render_settings(request, form, status=400)
    outcome, detail = form.test()
    test = {"ok": outcome == "ok", "url": form.instance.base_url}
    test.update({"version": detail.version, "pending": detail.pending} if outcome == "ok" else {"error": detail})
    return _render_settings(request, form, test=test)


def _render_settings(request, form, *, test=None, status=200):
    row = QBittorrentSettings.load()
    context = {
        "form": form,
        "test": test,
        "row": row,
        "password_mask": mask_password(row.password),
        "stash_library": stash_view_of_library(row),
        "gate": login.state(),
        "max_failed_logins": login.MAX_FAILED_LOGINS,
    }
    return render(request, "stash/downloads/settings.html", context, status=status)


# --- the Downloads page ---------------------------------------------------------------------------


@login_required
def downloads(request):
    group = request.GET.get("group") if request.GET.get("group") in GROUPS else "torrent"
    problems = request.GET.get("problems") == "1"
    keys = torrent_keys(problems) if group == "torrent" else _job_keys(problems)
    page = Paginator(keys, PAGE_SIZE).get_page(request.GET.get("page"))
    groups = torrent_groups(list(page)) if group == "torrent" else _job_groups(list(page))
    row = QBittorrentSettings.load()
    context = {
        "group": group,
        "problems": problems,
        "page": page,
        "groups": groups,
        "settings_row": row,
        "gate": login.state(),
        "unscanned": HandledDownload.objects.filter(
            status__in=[FileStatus.PLACED, FileStatus.EXISTING], scan_job_id__isnull=True
        ).count(),
    }
    return render(request, "stash/downloads/list.html", context)


def _job_keys(problems: bool) -> list:
    files = HandledDownload.objects.exclude(job_id=None)
    outcomes = TorrentOutcome.objects.exclude(job_id=None)
    if problems:
        files = files.filter(status=FileStatus.FAILED)
        outcomes = outcomes.filter(outcome__in=PROBLEM_OUTCOMES)
    return latest_first(
        files.order_by().values("job_id").annotate(at=Max("updated_at")).values_list("job_id", "at"),
        outcomes.order_by().values("job_id").annotate(at=Max("created_at")).values_list("job_id", "at"),
    )


def _job_groups(job_ids: list) -> list[dict]:
    files = HandledDownload.objects.filter(job_id__in=job_ids).order_by("torrent_name", "relative_path")
    outcomes = TorrentOutcome.objects.filter(job_id__in=job_ids).order_by("created_at", "id")
    groups = {j: {"job_id": j, "outcomes": [], "files": [], "at": None} for j in job_ids}
    for outcome in outcomes:
        group = groups[outcome.job_id]
        group["outcomes"].append(outcome)
        group["at"] = max(filter(None, [group["at"], outcome.created_at]))
    for file in files:
        group = groups[file.job_id]
        group["files"].append(file)
        group["at"] = max(filter(None, [group["at"], file.updated_at]))
    return [groups[j] for j in job_ids]


@login_required
@require_POST
def process_now(request):
    """Start a process_downloads job (it ends with a Stash scan of the new files' folders). Never a second
    one while one is pending or running, whoever started it: that one is shown. Settings that cannot work
    (no host, no library folder) get the Downloads page's answer and no job."""
    running = job_queue.find_active("process_downloads")
    if running is not None:
        messages.info(request, "Download processing is already under way; this is that job.")
        return redirect(running)
    row = QBittorrentSettings.load()
    problem = ""
    if not row.is_configured:
        problem = "qBittorrent is not configured: set its host on the qBittorrent settings page first."
    elif not row.library_path:
        problem = "The download library folder is not configured: set it on the qBittorrent settings page first."
    if problem:
        messages.error(request, f"Nothing was started. {problem}")
        return redirect("downloads:list")
    try:
        job = job_queue.submit("process_downloads", {}, requested_by=request.user.get_username())
    except job_queue.JobRequestError as exc:
        messages.error(request, f"The job was not created: {exc.message}")
        return redirect("downloads:list")
    messages.success(request, "Process downloads job created; a worker picks it up shortly.")
    return redirect(job)
