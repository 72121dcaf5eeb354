"""The `process_downloads` job: place qBittorrent's finished torrents of the configured category in the
library and tag them handled or failed (stash.downloads.processing), then scan the new files' folders.

`scan` (default on, so "Process now" ends with a scan) starts a `stash_scan` of the folders of every placed
file that no scan covers yet, as a child of this job. The download daemon passes `scan: false` and
starts that scan itself, so it can watch it (start_scan below, shared by both).
At most one runs at a time (two runs would race to place the same files)."""

from django.db import transaction

from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (Field("scan", bool, True, "Afterwards, start a Stash scan of the folders that received new files."),)
)


def run(ctx, params: dict) -> dict:
    from stash.downloads.processing import run as process

    result = process(progress=ctx.progress, check_cancelled=ctx.check_cancelled, job_id=ctx.job_id)
    if params["scan"]:
        scan = start_scan(created_by=ctx.job.created_by, parent=ctx.job)
        result["scan_job_id"] = str(scan.pk) if scan else None
        result["scan_paths"] = scan.parameters["paths"] if scan else []
    return result


def plan_scan():
    """What start_scan would claim and the scan's validated parameters, or None when there is nothing to
    scan. The validation may ask Stash (is every folder in its library?), so callers that lock a row
    for the launch plan first, outside their transaction."""
    from jobs.services import validate_job_request
    from stash.downloads.scanning import folders_of, unscanned

    rows = list(unscanned().values_list("pk", "destination_path"))
    folders = folders_of([path for _, path in rows]) if rows else []
    if not folders:
        return None
    return [pk for pk, _ in rows], validate_job_request("stash_scan", {"paths": folders})


def start_scan(*, created_by: str = "", parent=None, plan=None):
    """Create a stash_scan of the folders of placed files that no scan covers yet, and mark those files
    covered by it, in one transaction; None when there is nothing to scan. `plan`: plan_scan()'s answer,
    when the caller made it beforehand.

    The rows are claimed with a compare-and-set on `scan_job_id IS NULL`: when two callers race (the daemon
    and a "Process now" job), the one that claims nothing rolls back its scan job, so no folder is scanned
    twice for the same files. The paths are local; the stash_scan job translates them to Stash's view
    (Stash path mappings plus the library's "as Stash sees it" folder)."""
    from jobs.services import enqueue_validated
    from stash.downloads.models import HandledDownload

    plan = plan if plan is not None else plan_scan()
    if plan is None:
        return None
    pks, clean = plan
    with transaction.atomic():
        job = enqueue_validated("stash_scan", clean, created_by=created_by, parent=parent)
        claimed = HandledDownload.objects.filter(pk__in=pks, scan_job_id__isnull=True).update(scan_job_id=job.pk)
        if not claimed:
            transaction.set_rollback(True)
            return None
    return job


KIND = JobKind(
    type="process_downloads",
    label="Process downloads",
    handler=run,
    parameters=PARAMETERS,
    description="Place finished qBittorrent downloads in the library (hard link or copy), tag them, and scan them.",
    max_concurrent=1,
)
