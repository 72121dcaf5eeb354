"""The AutoPlanApplierDaemon end to end: a `rundaemon` host and a `runjobs` worker as processes, the Stash
emulator over HTTP, plans built with the plan domain API."""

import pytest

from daemons import services
from daemons.models import Daemon, DaemonJobHistory
from jobs.models import Job
from stash import plans
from stash.connection.config import get_client
from stash.plans.models import AnalysisPlan, ChangeStatus, PlanChange, PlanStatus
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

APPLIER = "auto_plan_applier"


@pytest.fixture
def stack(stash_emulator, proc_env, processes):
    """The mirror of the emulator's library, a worker, and the applier's host (started by `start`)."""
    SyncRun(get_client(), SyncOptions(full=True)).run()
    env = {**proc_env, "STASH_URL": stash_emulator.url}
    processes.manage("runjobs", "--concurrency", "2", env=env)
    processes.manage("rundaemon", APPLIER, env=env)
    return stash_emulator


def start(**config):
    daemon = Daemon.objects.get(name=APPLIER)
    services.update_configuration(daemon, {"job_interval_seconds": 1, **config}, partial=True)
    services.start(Daemon.objects.get(name=APPLIER))


def tag_plan(store, name: str, scene_id: int, tag_names: list[str]) -> AnalysisPlan:
    plan = plans.create_plan(name)
    current = [store.tags[t].name for t in store.scenes[scene_id].tag_ids]
    plans.add_changes(
        plan,
        scene_id,
        [{"field": "tags", "action": "add", "current_value": current, "proposed_value": t} for t in tag_names],
    )
    return plan


def scene_tag_names(store, scene_id: int) -> set[str]:
    return {store.tags[t].name for t in store.scenes[scene_id].tag_ids}


def free_tags(store, scene_id: int, count: int) -> list[str]:
    return sorted({t.name for t in store.tags.values()} - scene_tag_names(store, scene_id))[:count]


def applier_jobs():
    return Job.objects.filter(created_by=APPLIER, type="apply_plan")


def test_it_applies_approved_changes_and_comes_back_for_later_approvals(stack):
    store = stack.store
    first, second = free_tags(store, 5, 2)
    plan = tag_plan(store, "Auto Video Analysis - first", 5, [first, second])
    one, two = PlanChange.objects.filter(plan=plan).order_by("id")
    plans.set_change_status(one, ChangeStatus.APPROVED)
    start()
    wait_for(lambda: first in scene_tag_names(store, 5), 30, message="the approved tag in Stash")
    assert second not in scene_tag_names(store, 5)  # pending: not applied without auto-approve
    assert PlanChange.objects.get(pk=two.pk).status == ChangeStatus.PENDING
    # A later approval is picked up in a later cycle: no "once per session" memory.
    plans.set_change_status(PlanChange.objects.get(pk=two.pk), ChangeStatus.APPROVED)
    wait_for(lambda: second in scene_tag_names(store, 5), 30, message="the later approval in Stash")
    wait_for(lambda: AnalysisPlan.objects.get(pk=plan.pk).status == PlanStatus.APPLIED, 30, message="applied")
    assert applier_jobs().count() == 2
    job = applier_jobs().order_by("created_at").first()
    actions = list(DaemonJobHistory.objects.filter(job=job).order_by("id").values_list("action", flat=True))
    assert actions == ["LAUNCHED", "FINISHED"]


def test_prefix_filter_and_auto_approve(stack):
    store = stack.store
    [manual_tag] = free_tags(store, 6, 1)
    [auto_tag] = free_tags(store, 7, 1)
    manual = tag_plan(store, "Manual review - 1", 6, [manual_tag])
    auto = tag_plan(store, "Auto Video Analysis - 2", 7, [auto_tag])
    start(plan_prefix_filter=["Auto Video Analysis"], auto_approve_all_changes=True)
    wait_for(lambda: auto_tag in scene_tag_names(store, 7), 30, message="the auto-approved change in Stash")
    wait_for(
        lambda: (Daemon.objects.get(name=APPLIER).current_status or "").startswith("No plans to process"),
        30,
        message="the daemon to go idle",
    )
    assert manual_tag not in scene_tag_names(store, 6)
    assert AnalysisPlan.objects.get(pk=manual.pk).status == PlanStatus.DRAFT
    assert AnalysisPlan.objects.get(pk=auto.pk).status == PlanStatus.APPLIED
    assert applier_jobs().get().parameters["auto_approve"] is True
