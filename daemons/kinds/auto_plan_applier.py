"""AutoPlanApplierDaemon: apply analysis plans one at a time, as they are reviewed (or all of them).

Each cycle looks at plans in draft or reviewing, keeps those whose name starts with one of the configured
prefixes (all plans when there are none), and applies each plan that has something to apply: approved
changes, or pending ones too when `auto_approve_all_changes` is on. Nothing is remembered between
cycles: a plan that gets new approvals later is applied again then (StashHog tried a plan once per
session and ignored later approvals). Changes that failed are not retried automatically; they carry
their reason on the plan's page. Between cycles it rests `job_interval_seconds`, or until a review or a
new plan gives it something to apply (the PLANS wake-up); after a cycle in which an apply failed it
rests the whole interval, so a plan that cannot be applied is not retried on every review.
"""

from daemons.base import HEARTBEAT_INTERVAL, POLL_SECONDS, BaseDaemon, job_interval_field
from daemons.models import StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from daemons.threads import in_thread
from jobs.models import Job, JobStatus
from jobs.types.apply_plan import plans_being_applied
from orchestrator import wakeups
from orchestrator.paths import plans_path
from orchestrator.typed import Field, Schema
from stash.plans.apply import applicable_plans, plans_awaiting_review

WAITING = "Waiting for plan application to complete"


def _something_to_apply(prefixes: list[str], auto_approve: bool) -> bool:
    """Whether a plan has changes to apply that no other job is applying (the rest's quiet question)."""
    _, plans = applicable_plans(prefixes, auto_approve)
    busy = plans_being_applied()
    return any(plan_id not in busy for plan_id, _, _ in plans)


def _review_changed(prefixes: list[str], auto_approve: bool, shown: tuple[int, int]) -> bool:
    """Whether what waits for review is no longer what the status says (a new plan, a review): the rest
    then ends, so the status is said again at once rather than after the interval."""
    return not auto_approve and plans_awaiting_review(prefixes) != shown


class AutoPlanApplierDaemon(BaseDaemon):
    kind = "auto_plan_applier"
    title = "Auto Plan Applier Daemon"
    description = "Applies analysis plans to Stash, one at a time, as their changes are approved."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            QUIET_HOURS,
            job_interval_field(60, "Seconds to wait between checks for plans to apply.", max=None),
            Field(
                "plan_prefix_filter",
                list,
                [],
                "Only plans whose name starts with one of these prefixes (empty: every plan).",
            ),
            Field(
                "auto_approve_all_changes",
                bool,
                False,
                "Apply pending (unreviewed) changes too, not only approved ones.",
            ),
            Field(
                "create_missing_entities",
                bool,
                # On by default, as users of the prior art rely on: the video analysis proposes `_AI` tags
                # that a fresh Stash does not have, and every change applied here was approved (or
                # auto-approval was chosen). Off: such changes fail with the missing name as the reason.
                True,
                "Create tags, performers and studios that do not exist in Stash yet (otherwise such changes fail).",
            ),
        )
    )

    listens_to = (wakeups.JOB_ENDED, wakeups.PLANS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The cycle under way: plans still to apply (None between cycles), those another job holds, how
        # many it applied (and how many of those applies failed), and its auto-approval (read once per
        # cycle, like the plans).
        self.plans: list[tuple[int, str, int]] | None = None
        self.busy: set[int] = set()
        self.applied = 0
        self.failed = 0
        self.auto_approve = False
        # What the last status said waits for review, (plans, changes): its rest ends when that changes.
        self.review_shown = (0, 0)

    async def step(self) -> float:
        if self.watching is not None:
            finished = await self.watched_end()
            if finished is None:
                return POLL_SECONDS
            if self.plans is not None:
                await self.plan_applied(finished)
        if self.plans is None:
            # After a restart, first see the applies this daemon had started through to their end.
            adopted = await self.active_jobs("apply_plan")
            if adopted:
                await self.watch(adopted[0], WAITING)
                return POLL_SECONDS
            await self.start_cycle()
        return await self.apply_next()

    async def start_cycle(self):
        await self.update_status("Checking for plans to apply")
        prefixes, auto_approve = self.config["plan_prefix_filter"], self.config["auto_approve_all_changes"]
        total, plans = await in_thread(applicable_plans, prefixes, auto_approve)
        if total:
            await self.update_status(f"Found {total} plans, filtering by prefix")
        self.busy = await in_thread(plans_being_applied)
        self.plans, self.applied, self.failed, self.auto_approve = plans, 0, 0, auto_approve

    async def apply_next(self) -> float:
        """Launch the apply of the cycle's next plan and watch it; when none is left, end the cycle."""
        while self.plans:
            plan_id, name, count = self.plans.pop(0)
            if plan_id in self.busy:
                await self.log("DEBUG", f"Plan {plan_id} is already being applied by another job")
                continue
            await self.update_status(f"Processing plan: {name}")
            await self.log("INFO", f"Plan {plan_id} ({name}) has {count} changes to apply")
            job = await self.launch_job(
                "apply_plan",
                {
                    "plan_id": plan_id,
                    "auto_approve": self.auto_approve,
                    "create_missing": self.config["create_missing_entities"],
                },
                reason=f"Apply plan {plan_id} with auto_approve={self.auto_approve}",
            )
            await self.update_status(f"Applying plan ID {plan_id}", job_id=job.pk, job_type=job.type)
            await self.watch(job, WAITING)
            return POLL_SECONDS
        seconds, self.plans = self.config["job_interval_seconds"], None
        if not await self.say_awaiting_review(seconds):
            done = "Plan application cycle complete" if self.applied else "No plans to process"
            await self.update_status(
                f"{done}, sleeping for {seconds} seconds", level=StatusLevel.WAITING, next_in=seconds
            )
        if self.failed:
            return seconds
        prefixes, auto_approve = self.config["plan_prefix_filter"], self.config["auto_approve_all_changes"]
        shown = self.review_shown

        def ready() -> bool:
            return _something_to_apply(prefixes, auto_approve) or _review_changed(prefixes, auto_approve, shown)

        return self.rest_until_news(seconds, wakeups.PLANS, ready=ready)

    async def say_awaiting_review(self, seconds: float) -> bool:
        """With nothing left to apply, point to the plans whose changes wait for review, if any (with
        auto-approval nothing waits for a person). Returns whether it said so; `review_shown` keeps what
        it said ((0, 0): nothing)."""
        self.review_shown = (0, 0)
        if self.auto_approve:
            return False
        plans, changes = await in_thread(plans_awaiting_review, self.config["plan_prefix_filter"])
        if not plans:
            return False
        self.review_shown = (plans, changes)
        plan_noun, change_noun = ("plan" if plans == 1 else "plans"), ("change" if changes == 1 else "changes")
        await self.update_status(
            f"{plans} {plan_noun} waiting for review ({changes} {change_noun})",
            level=StatusLevel.WAITING,
            link=(plans_path(), "Review plans"),
            next_in=seconds,
        )
        return True

    async def plan_applied(self, finished: Job):
        self.applied += 1
        if finished.status != JobStatus.COMPLETED:
            self.failed += 1
            plan_id = finished.parameters.get("plan_id")
            await self.log("WARNING", f"Applying plan {plan_id} ended {finished.status}: {finished.error}")
