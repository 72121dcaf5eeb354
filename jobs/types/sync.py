"""The `sync` job: tags, performers and studios, then scenes and markers, from Stash into the mirror.

Incremental by default (what Stash changed since the last completed run); `full` re-reads everything
and removes what Stash no longer has. A failed or cancelled run keeps the previous watermark."""

from django.conf import settings

from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (Field("full", bool, False, "Re-read the whole library instead of what changed since the last sync."),)
)


def run(ctx, params: dict) -> dict:
    from stash.connection.config import get_client
    from stash.sync.run import SyncOptions, SyncRun

    options = SyncOptions(
        full=params["full"],
        page_size=settings.STASH_SYNC_PAGE_SIZE,
        overlap_seconds=settings.STASH_SYNC_OVERLAP_SECONDS,
        progress=ctx.progress,
        check_cancelled=ctx.check_cancelled,
    )
    report = SyncRun(get_client(), options).run()
    return {"mode": report.mode, **report.counts, "watermarks": report.watermarks}


KIND = JobKind(
    type="sync",
    label="Sync",
    handler=run,
    parameters=PARAMETERS,
    description="Mirror tags, performers, studios, scenes and markers from Stash (incremental or full).",
    max_concurrent=1,
)
