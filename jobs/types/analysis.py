"""The `analysis` job: analyse the given scenes' videos and collect the proposals in one plan.

With a tagger URL (Video analysis settings page, or VIDEO_TAGGER_URL) it asks the AI video tagger;
otherwise the built-in ffprobe/ffmpeg analyzer looks at the files (stash/analysis/). The settings are read
once, when the job starts. Scenes that could not be analysed now are listed in the result, keep
`video_analyzed=false` and are retried later (by the AutoVideoAnalysisDaemon).
"""

from jobs.queries import live_active_jobs
from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (
        Field(
            "scene_ids", list, [], "Stash ids of the scenes to analyze.", items=int, min=1, max=100_000, required=True
        ),
        Field("plan_name", str, "", 'Name of the plan (empty: "Auto Video Analysis - <date and time>").'),
        Field("confidence_threshold", float, 0.7, "Propose only findings at least this confident (0-1).", min=0, max=1),
        Field(
            "frame_interval",
            float,
            None,
            "Seconds between the frames the AI video tagger looks at. Empty: the Video analysis settings' value.",
            min=0.1,
            max=3600,
            nullable=True,
        ),
        Field(
            "tagger_threshold",
            float,
            0.3,
            "The AI video tagger's own detection threshold (0-1), sent with each video.",
            min=0,
            max=1,
        ),
        Field("create_markers", bool, True, "Also propose markers (timed detections, scene changes)."),
    )
)


def run(ctx, params: dict) -> dict:
    from stash.analysis.config import effective_settings
    from stash.analysis.run import Batch, Options, default_plan_name

    # Once per job: a change on the Settings page applies from the next job, never halfway through a batch.
    config = effective_settings()
    frame_interval = params["frame_interval"]
    options = Options(
        plan_name=params["plan_name"].strip() or default_plan_name(),
        confidence_threshold=params["confidence_threshold"],
        frame_interval=config.frame_interval if frame_interval is None else frame_interval,
        tagger_threshold=params["tagger_threshold"],
        create_markers=params["create_markers"],
    )
    batch = Batch(
        params["scene_ids"],
        options,
        config,
        job_id=ctx.job_id,
        check_cancelled=ctx.check_cancelled,
        progress=lambda percent, message, done, total: ctx.progress(percent, message, processed=done, total=total),
    )
    return batch.run()


KIND = JobKind(
    type="analysis",
    label="Scene analysis",
    handler=run,
    parameters=PARAMETERS,
    description="Analyze scenes' videos (AI video tagger or the built-in analyzer) into one plan of proposed changes.",
    # One at a time: each saturates the tagger (one video at a time) or this machine's CPU (ffmpeg).
    max_concurrent=1,
)


def held_scene_ids() -> set[int]:
    """The scenes in the parameters of analysis jobs pending or running on a live worker (anyone's)."""
    held = set()
    for parameters in live_active_jobs("analysis").values_list("parameters", flat=True):
        held.update(i for i in (parameters or {}).get("scene_ids", []) if isinstance(i, int))
    return held
