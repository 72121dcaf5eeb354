"""The `stash_generate` job: Stash's metadata generation (covers, previews, sprites, phashes, …).

Defaults are those StashHog users know (covers, sprites, previews, markers, marker screenshots, phashes,
clip previews and image thumbnails on; the rest off). The job follows Stash's task and reports its
progress; cancelling sends stopJob and waits until Stash says it stopped. When Stash's job finishes, the
scenes in scope are checked against what Stash reports as missing (stash.scenes.generation) and only then
marked generated: a finished job is not proof, and a lost one (Stash restarted, or the job left Stash's
short history) fails without marking anything."""

from django.utils import timezone

from jobs.types import JobKind
from jobs.types._stash_job import follow
from orchestrator.typed import Field, Schema
from stash.connection.models import PreviewPreset

PRESETS = tuple(PreviewPreset.values)  # Stash's PreviewPreset enum, as the Settings page offers it
FLAGS = (
    ("covers", True, "Scene covers."),
    ("sprites", True, "Scrubber sprites."),
    ("previews", True, "Video previews."),
    ("imagePreviews", False, "Animated image previews."),
    ("markers", True, "Marker previews."),
    ("markerImagePreviews", False, "Animated marker image previews."),
    ("markerScreenshots", True, "Marker screenshots."),
    ("transcodes", False, "Transcodes for unsupported formats."),
    ("forceTranscodes", False, "Transcodes even when not required."),
    ("phashes", True, "Perceptual hashes."),
    ("interactiveHeatmapsSpeeds", False, "Heatmaps and speeds of interactive (funscript) scenes."),
    ("clipPreviews", True, "Image clip previews."),
    ("imageThumbnails", True, "Image thumbnails."),
    ("overwrite", False, "Overwrite what was generated before."),
)

PARAMETERS = Schema(
    (
        *(Field(name, bool, default, description) for name, default, description in FLAGS),
        Field("scene_ids", list, [], "Only these Stash scene ids (empty: the whole library).", items=int, min=1),
        Field(
            "preview_preset",
            str,
            "",
            "x264 preset for previews (empty: the one from Settings).",
            choices=("", *PRESETS),
        ),
    )
)


def generate_input(params: dict) -> dict:
    from stash.connection.models import StashSettings

    data = {name: params[name] for name, _default, _description in FLAGS}
    data["previewOptions"] = {
        "previewSegments": 12,
        "previewSegmentDuration": 0.75,
        "previewExcludeStart": "0",
        "previewExcludeEnd": "0",
        "previewPreset": params["preview_preset"] or StashSettings.load().preview_preset,
    }
    if params["scene_ids"]:
        data["sceneIDs"] = [str(i) for i in params["scene_ids"]]
    return data


def run(ctx, params: dict) -> dict:
    from stash.connection.config import get_client

    client = get_client()
    scope = params["scene_ids"]
    ctx.progress(0, f"Starting Stash generate for {f'{len(scope)} scenes' if scope else 'the whole library'}")
    started = timezone.now()
    stash_job_id = client.metadata_generate(generate_input(params))
    outcome = follow(ctx, client, stash_job_id, "Generate metadata")
    ctx.progress(99, "Checking what Stash generated")
    return {**outcome, **record_generated(client, scope, params["interactiveHeatmapsSpeeds"], started)}


def record_generated(client, scope: list[int], include_heatmaps: bool, started) -> dict:
    from stash.models import Scene
    from stash.scenes.generation import missing_artefacts, record_generation_state

    missing = missing_artefacts(client, include_heatmaps)
    needing = set().union(*missing.values())
    checked = set(scope) if scope else set(Scene.objects.filter(generated=False).values_list("id", flat=True))
    counts = record_generation_state(checked, needing, started=started)
    return {
        "scenes_checked": len(checked),
        "scenes_still_missing": len(checked & needing),
        **counts,
        "sample_still_missing": sorted(checked & needing)[:10],
    }


KIND = JobKind(
    type="stash_generate",
    label="Stash generate metadata",
    handler=run,
    parameters=PARAMETERS,
    description="Run Stash's metadata generation, follow it, and mark the scenes Stash really generated.",
    max_concurrent=1,
)
