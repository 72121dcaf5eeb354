"""The `analysis` job: analyse the given scenes' videos and collect the proposals in one plan.

With VIDEO_TAGGER_URL set it asks the AI video tagger; otherwise the built-in ffprobe/ffmpeg analyzer
looks at the files (stash/analysis/). Scenes that could not be analysed now are listed in the result,
keep `video_analyzed=false` and are retried later (by the AutoVideoAnalysisDaemon).
"""

from django.conf import settings

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
            settings.VIDEO_ANALYSIS_FRAME_INTERVAL,
            "Seconds between the frames the AI video tagger looks at.",
            min=0.1,
            max=3600,
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
    from stash.analysis.run import Batch, Options, default_plan_name

    options = Options(
        plan_name=params["plan_name"].strip() or default_plan_name(),
        confidence_threshold=params["confidence_threshold"],
        frame_interval=params["frame_interval"],
        tagger_threshold=params["tagger_threshold"],
        create_markers=params["create_markers"],
    )
    batch = Batch(
        params["scene_ids"],
        options,
        job_id=ctx.job_id,
        check_cancelled=ctx.check_cancelled,
        progress=lambda percent, message, done, total: ctx.progress(percent, message, processed=done, total=total),
    )
    return batch.run()


KIND = JobKind(
    type="analysis",
    handler=run,
    parameters=PARAMETERS,
    description="Analyze scenes' videos (AI video tagger or the built-in analyzer) into one plan of proposed changes.",
    # One at a time: each saturates the tagger (one video at a time) or this machine's CPU (ffmpeg).
    max_concurrent=1,
)
