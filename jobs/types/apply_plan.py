"""The `apply_plan` job: push an analysis plan's approved changes to Stash, scene by scene.

The rules (selection, merging, marker dedupe, entity creation, per-scene commits, the plan status) live in
stash.plans.apply; this module only maps the job's parameters and progress onto them. One apply runs at a
time: two applies of one plan would race on the same scenes and markers.
"""

from jobs.queries import live_active_jobs
from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (
        Field("plan_id", int, None, "The plan to apply.", min=1, required=True),
        Field(
            "auto_approve",
            bool,
            False,
            "Approve and apply pending (unreviewed) changes too; otherwise only approved changes are applied.",
        ),
        Field(
            "change_ids", list, [], "Only these changes of the plan (ids; empty: all).", items=int, min=1, max=100_000
        ),
        Field(
            "scene_ids",
            list,
            [],
            "Only the changes of these scenes (Stash ids; empty: all).",
            items=int,
            min=1,
            max=100_000,
        ),
        Field(
            "create_missing",
            bool,
            False,
            "Create tags, performers and studios Stash does not have yet; otherwise their changes fail.",
        ),
    )
)


def check(params: dict) -> dict:
    """A plan that does not exist is refused now, not accepted and failed later."""
    from stash.plans.models import AnalysisPlan

    if not AnalysisPlan.objects.filter(pk=params["plan_id"]).exists():
        return {"plan_id": [f"There is no plan {params['plan_id']}."]}
    return {}


def run(ctx, params: dict) -> dict:
    from stash.connection.config import get_client
    from stash.plans.apply import ApplyOptions, apply_plan

    options = ApplyOptions(
        auto_approve=params["auto_approve"],
        change_ids=tuple(params["change_ids"]),
        scene_ids=tuple(params["scene_ids"]),
        create_missing=params["create_missing"],
    )
    ctx.progress(0, f"Loading plan {params['plan_id']}")
    return apply_plan(
        get_client(), params["plan_id"], options, progress=ctx.progress, check_cancelled=ctx.check_cancelled
    )


KIND = JobKind(
    type="apply_plan",
    label="Apply plan",
    handler=run,
    parameters=PARAMETERS,
    description="Apply an analysis plan's approved changes to Stash.",
    max_concurrent=1,
    check=check,
)


def plans_being_applied() -> set[int]:
    """The plans that live apply_plan jobs (anyone's) have in hand."""
    return {params.get("plan_id") for params in live_active_jobs("apply_plan").values_list("parameters", flat=True)}
