"""The `test` job: a few timed steps with progress, for demos and tests. Honours cancellation."""

from jobs.types import JobKind
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (
        Field("steps", int, 5, "Number of steps to run (0: finish at once, a no-op job).", min=0, max=10_000),
        Field("step_seconds", float, 2.0, "How long each step takes, in seconds.", min=0, max=3600),
        Field("fail_at_step", int, 0, "Raise an error at this step (0: never fail).", min=0, max=10_000),
    )
)


def run(ctx, params: dict) -> dict:
    steps = params["steps"]
    if steps == 0:
        return {"steps_completed": 0}
    ctx.progress(0, f"Starting {steps} test steps", processed=0, total=steps)
    for step in range(1, steps + 1):
        ctx.sleep(params["step_seconds"])  # raises JobCancelled when cancellation is requested
        if step == params["fail_at_step"]:
            raise RuntimeError(f"Simulated failure at step {step}")
        ctx.progress(step * 100 / steps, f"Processed {step}/{steps} test steps", processed=step, total=steps)
    return {"steps_completed": steps}


KIND = JobKind(
    type="test",
    label="Test job",
    handler=run,
    parameters=PARAMETERS,
    description="Runs timed steps that report progress; for demos and tests.",
)
