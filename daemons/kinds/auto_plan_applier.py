"""AutoPlanApplierDaemon: apply analysis plans one at a time, as they are reviewed (or all of them).

Each cycle looks at plans in draft or reviewing, keeps those whose name starts with one of the configured
prefixes (all plans when there are none), and applies each plan that has something to apply: approved
changes, or pending ones too when `auto_approve_all_changes` is on. Nothing is remembered between
cycles: a plan that gets new approvals later is applied again then (StashHog tried a plan once per
session and ignored later approvals). Changes that failed are not retried automatically; they carry
their reason on the plan's page.
"""

from daemons.base import HEARTBEAT_INTERVAL, BaseDaemon
from daemons.kinds.stash_common import in_thread
from orchestrator.typed import Field, Schema


def _candidates(prefixes: list[str], auto_approve: bool) -> tuple[int, list[tuple[int, str, int]]]:
    """(plans in draft/reviewing, [(id, name, changes to apply)] of those matching the prefixes)."""
    from django.db.models import Count, Q

    from stash.plans.models import AnalysisPlan, ChangeStatus, PlanStatus

    wanted = [ChangeStatus.APPROVED, *([ChangeStatus.PENDING] if auto_approve else [])]
    plans = AnalysisPlan.objects.filter(status__in=[PlanStatus.DRAFT, PlanStatus.REVIEWING]).order_by("created_at")
    rows = list(
        plans.annotate(applicable=Count("changes", filter=Q(changes__status__in=wanted))).values_list(
            "id", "name", "applicable"
        )
    )
    matching = [row for row in rows if not prefixes or any(row[1].startswith(p) for p in prefixes)]
    return len(rows), [row for row in matching if row[2]]


def _plans_being_applied() -> set[int]:
    from jobs.queries import live_active_jobs

    return {params.get("plan_id") for params in live_active_jobs("apply_plan").values_list("parameters", flat=True)}


class AutoPlanApplierDaemon(BaseDaemon):
    kind = "auto_plan_applier"
    title = "Auto Plan Applier Daemon"
    description = "Applies analysis plans to Stash, one at a time, as their changes are approved."
    config_schema = Schema(
        (
            HEARTBEAT_INTERVAL,
            Field("job_interval_seconds", int, 60, "Seconds to wait between checks for plans to apply.", min=1),
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

    async def run(self):
        await self.log("INFO", f"Auto Plan Applier Daemon started with config: {self.config}")
        while self.running:
            applied = await self.cycle()
            seconds = self.config["job_interval_seconds"]
            if not applied:
                await self.update_status(f"No plans to process, sleeping for {seconds} seconds")
            await self.sleep(seconds)

    async def cycle(self) -> int:
        # After a restart, first see the applies this daemon had started through to their end.
        for job in await self.active_jobs("apply_plan"):
            await self.wait_for_job(job, "Waiting for plan application to complete")
        await self.update_status("Checking for plans to apply")
        prefixes, auto_approve = self.config["plan_prefix_filter"], self.config["auto_approve_all_changes"]
        total, plans = await in_thread(_candidates, prefixes, auto_approve)
        if total:
            await self.update_status(f"Found {total} plans, filtering by prefix")
        busy = await in_thread(_plans_being_applied)
        applied = 0
        for plan_id, name, count in plans:
            if not self.running:
                break
            if plan_id in busy:
                await self.log("DEBUG", f"Plan {plan_id} is already being applied by another job")
                continue
            await self.update_status(f"Processing plan: {name}")
            await self.log("INFO", f"Plan {plan_id} ({name}) has {count} changes to apply")
            job = await self.launch_job(
                "apply_plan",
                {
                    "plan_id": plan_id,
                    "auto_approve": auto_approve,
                    "create_missing": self.config["create_missing_entities"],
                },
                reason=f"Apply plan {plan_id} with auto_approve={auto_approve}",
            )
            await self.update_status(f"Applying plan ID {plan_id}", job_id=job.pk, job_type=job.type)
            finished = await self.wait_for_job(job, "Waiting for plan application to complete")
            applied += 1
            if finished is not None and finished.status != "completed":
                await self.log("WARNING", f"Applying plan {plan_id} ended {finished.status}: {finished.error}")
        return applied
