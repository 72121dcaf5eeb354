"""The `sync_scenes` job: re-read the given scenes from Stash. Never moves the incremental watermark;
a scene Stash no longer has is removed from the mirror."""

from django.conf import settings

from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (
        Field(
            "scene_ids",
            list,
            [],
            "Stash ids of the scenes to sync.",
            items=int,
            min=1,
            max=100_000,
            required=True,
        ),
    )
)


def run(ctx, params: dict) -> dict:
    from stash.connection.config import get_client
    from stash.sync.run import sync_scene_ids

    ids = params["scene_ids"]
    ctx.progress(0, f"Syncing {len(ids)} scenes", processed=0, total=len(ids))
    report = sync_scene_ids(
        get_client(), ids, page_size=settings.STASH_SYNC_PAGE_SIZE, check_cancelled=ctx.check_cancelled
    )
    synced = report.counts.get("scenes_synced", 0)
    ctx.progress(100, f"Synced {synced}/{len(ids)} scenes", processed=len(ids), total=len(ids))
    return {"requested": len(ids), **report.counts}


KIND = JobKind(
    type="sync_scenes",
    label="Sync scenes",
    handler=run,
    parameters=PARAMETERS,
    description="Re-read the given scenes from Stash (does not move the incremental sync watermark).",
)
