"""The `check_stash_generate` job: set every scene's `generated` flag from what Stash reports missing.

The result stays small whatever the library size: counts per artefact and a few sample ids."""

from django.utils import timezone

from jobs.types import JobKind
from orchestrator.typed import Field, Schema

SAMPLES = 5

PARAMETERS = Schema(
    (
        Field(
            "include_heatmaps",
            bool,
            False,
            "Also require heatmaps for interactive scenes (turn on if generation creates them).",
        ),
    )
)


def run(ctx, params: dict) -> dict:
    from stash.connection.config import get_client
    from stash.scenes.generation import missing_artefacts, record_generation_state, stash_ids

    client = get_client()
    started = timezone.now()
    ctx.progress(5, "Listing scenes in Stash")
    all_ids, total = stash_ids(client)
    ctx.progress(30, "Asking Stash which generated artefacts are missing")
    missing = missing_artefacts(client, params["include_heatmaps"])
    needing = set().union(*missing.values()) & all_ids
    ctx.check_cancelled()
    ctx.progress(80, f"{len(needing)} of {total} scenes need generation; updating the mirror")
    counts = record_generation_state(all_ids, needing, started=started)
    ctx.progress(100, f"{len(needing)} of {total} scenes need generation")
    return {
        "total_scenes": total,
        "scenes_needing_generation": len(needing),
        "missing": {name: len(ids) for name, ids in missing.items()},
        "samples": {name: sorted(ids)[:SAMPLES] for name, ids in missing.items()},
        **counts,
    }


KIND = JobKind(
    type="check_stash_generate",
    label="Check resource generation",
    handler=run,
    parameters=PARAMETERS,
    description="Check in Stash which scenes miss covers, phashes (or heatmaps) and set `generated`.",
)
