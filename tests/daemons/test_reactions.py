"""Reactions within a second, with processes: daemons see their job's end and new work through wake-ups
(not at their next poll), an idle worker claims a new job at once, and with Redis unreachable the same
still completes at poll speed. Intervals are set far longer than the deadlines, so meeting a deadline
means a wake-up ended the wait; timings themselves are measured by bench/daemon_reaction.py and
bench/job_pickup.py."""

import pytest

from daemons import services
from daemons.models import Daemon
from jobs.models import Job, JobStatus
from jobs.services import cancel_job, create_job
from stash import plans
from stash.connection.config import get_client
from stash.models import Scene
from stash.plans.models import ChangeStatus, PlanChange
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import free_port, wait_for
from tests.daemons.test_plan_applier import free_tags, scene_tag_names, tag_plan

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

APPLIER = "auto_plan_applier"
GENERATION = "auto_stash_generation"
HOUR = 3600
# Generous: far below the intervals above, far above what a wake-up takes.
SOON = 20


@pytest.fixture
def env(stash_emulator, proc_env):
    SyncRun(get_client(), SyncOptions(full=True)).run()
    return {**proc_env, "STASH_URL": stash_emulator.url}


@pytest.fixture
def unreachable_redis(env):
    """The processes' channel layer points at a port nobody listens on: no wake-up reaches them."""
    return {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}


def host(processes, env, name: str, **config):
    services.update_configuration(Daemon.objects.get(name=name), config, partial=True)
    processes.manage("rundaemon", name, env=env)
    services.start(Daemon.objects.get(name=name))


def status(name: str) -> str:
    return Daemon.objects.get(name=name).current_status or ""


def ungenerated(*scene_ids):
    Scene.objects.update(generated=True)
    Scene.objects.filter(pk__in=scene_ids).update(generated=False)


def generate_jobs():
    return Job.objects.filter(created_by=GENERATION, type="stash_generate")


def test_the_plan_applier_reacts_to_its_apply_ending_and_to_a_new_approval(env, processes, stash_emulator):
    store = stash_emulator.store
    first, second = free_tags(store, 5, 2)
    plan = tag_plan(store, "Auto Video Analysis - reactions", 5, [first, second])
    one, two = PlanChange.objects.filter(plan=plan).order_by("id")
    plans.set_change_status(one, ChangeStatus.APPROVED)
    processes.manage("runjobs", env=env)
    host(processes, env, APPLIER, job_interval_seconds=HOUR)
    wait_for(lambda: first in scene_tag_names(store, 5), SOON, message="the approved change applied")
    # The other change waits for review: the status after the apply job's end says so.
    rested = "1 plan waiting for review (1 change)"
    wait_for(lambda: status(APPLIER) == rested, SOON, message="the status after the apply job's end")
    # Resting for an hour, it applies a new approval at once.
    plans.set_change_status(PlanChange.objects.get(pk=two.pk), ChangeStatus.APPROVED)
    wait_for(lambda: second in scene_tag_names(store, 5), SOON, message="the new approval applied")


def test_generation_started_while_a_job_runs_generates_as_soon_as_it_ends(env, processes):
    ungenerated(3, 4)
    busy = create_job("test", {"steps": 1000, "step_seconds": 0.1})
    processes.manage("runjobs", "--concurrency", "2", env=env)
    host(processes, env, GENERATION, job_interval_seconds=HOUR, monitor_interval_seconds=HOUR)
    wait_for(lambda: status(GENERATION).startswith("Jobs are running, waiting"), SOON, message="waiting")
    assert not generate_jobs().exists()
    cancel_job(busy)
    job = wait_for(lambda: generate_jobs().first(), SOON, message="generation once the job ended")
    # Watched with a monitor interval of an hour, its end is still seen at once.
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, SOON, message="the generate job's end")
    done = f"Generation cycle complete, sleeping for {HOUR} seconds"
    wait_for(lambda: status(GENERATION) == done, SOON, message="the status after the generate job's end")


def test_an_idle_worker_claims_a_new_job_well_before_its_poll(env, processes):
    processes.manage("runjobs", env={**env, "JOB_POLL_SECONDS": str(HOUR)})
    first = create_job("test", {"steps": 0})
    # The first job may be claimed by the worker's first look; later ones only by a wake-up.
    wait_for(lambda: Job.objects.get(pk=first.pk).status == JobStatus.COMPLETED, SOON, message="the first job")
    for _ in range(3):
        job = create_job("test", {"steps": 0})
        wait_for(lambda j=job: Job.objects.get(pk=j.pk).status == JobStatus.COMPLETED, SOON, message="a new job")


def test_without_redis_everything_still_completes_at_poll_speed(unreachable_redis, processes, stash_emulator):
    env = unreachable_redis
    ungenerated(3, 4)
    busy = create_job("test", {"steps": 1000, "step_seconds": 0.1})
    processes.manage("runjobs", "--concurrency", "2", env={**env, "JOB_POLL_SECONDS": "1"})
    host(processes, env, GENERATION, job_interval_seconds=HOUR, monitor_interval_seconds=1)
    wait_for(lambda: status(GENERATION).startswith("Jobs are running, waiting"), SOON, message="waiting")
    cancel_job(busy)
    # Its 5-second look for the end of the jobs, the worker's poll, the monitor interval: all polls.
    job = wait_for(lambda: generate_jobs().first(), SOON, message="generation once the job ended")
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, SOON, message="the generate job's end")
    done = f"Generation cycle complete, sleeping for {HOUR} seconds"
    wait_for(lambda: status(GENERATION) == done, SOON, message="the status after the generate job's end")
