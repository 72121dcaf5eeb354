"""The Downloads page's "Process now" button: start a process_downloads job (which ends with a Stash scan
of the new files' folders).

It never starts a second one while one is pending or running, whoever started it: it shows that one.
Settings that cannot work (no host, no library folder) get the Downloads page's answer and no job.
This lives in jobs, not stash, because jobs depend on stash and never the other way round.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from jobs.queries import live_active_jobs
from jobs.services import JobError, create_job


@login_required
@require_POST
def process_now(request):
    from stash.models import QBittorrentSettings

    running = live_active_jobs("process_downloads").order_by("created_at").first()
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
        job = create_job("process_downloads", {})
    except JobError as exc:
        messages.error(request, f"The job was not created: {exc.message}")
        return redirect("downloads:list")
    messages.success(request, "Process downloads job created; a worker picks it up shortly.")
    return redirect(job)
