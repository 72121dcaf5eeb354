"""Run now, soft pause and hard pause with real processes: `rundaemon` hosts and a `runjobs` worker, the
Stash emulator over HTTP, the database and Redis. Intervals are an hour, so acting at once means Run now
or Resume did it."""

import time

import pytest
from django.utils import timezone

from daemons import pause, schedule, services
from daemons.models import Daemon, JobAction
from jobs.models import Job, JobStatus
from stash.connection.config import get_client
from stash.models import Scene
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import free_port, wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

HOUR = 3600
SOON = 30  # generous: far below the intervals, far above what the reactions take
GENERATION = "auto_stash_generation"


def host(processes, env, name: str, **config):
    services.update_configuration(Daemon.objects.get(name=name), config, partial=True)
    proc = processes.manage("rundaemon", name, env=env)
    services.start(Daemon.objects.get(name=name))
    return proc


def row(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def status(name="test") -> str:
    return row(name).current_status or ""


@pytest.mark.parametrize("redis", ["up", "unreachable"])
def test_run_now_makes_a_sleeping_daemon_act_within_a_second(daemon, processes, redis):
    # With Redis unreachable no wake-up arrives: the host's control poll (0.5 s) alone carries Run now.
    env = processes.env if redis == "up" else {**processes.env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    host(processes, env, "test", interval_seconds=HOUR, launch_jobs=False, log_every=0)
    wait_for(lambda: status() == f"Sleeping for {HOUR} seconds", SOON, message="the daemon asleep")
    wait_for(lambda: row().actual_state == "running" and row().last_cycle_ended_at, SOON, message="a first cycle")
    for _ in range(3):
        before = row().last_cycle_started_at
        asked = timezone.now()
        schedule.request_run_now(row())
        started = wait_for(
            lambda b=before: (row().last_cycle_started_at or b) > b and row().last_cycle_started_at,
            SOON,
            message="a cycle after Run now",
        )
        # Measured between the request and the cycle's own start time, both on this machine's clock.
        latency = (started - asked).total_seconds()
        print(f"run-now latency (redis {redis}): {latency:.3f} s")
        assert latency < 1.0
        plan = schedule.schedule_of(row())
        assert plan.next_run_at is not None and (plan.next_run_at - timezone.now()).total_seconds() > HOUR - 60


def test_soft_pause_finishes_the_watched_job_starts_nothing_and_resume_goes_on(daemon, processes):
    processes.manage("runjobs", env=processes.env)
    host(processes, processes.env, "test", interval_seconds=0.2, job_every=1, job_steps=10, job_step_seconds=0.3)
    first = wait_for(lambda: Job.objects.filter(created_by="test", status="running").first(), SOON, message="a job")
    pause.pause(row(), by="admin")
    wait_for(lambda: Job.objects.get(pk=first.pk).is_finished, SOON, message="the watched job's end")
    assert Job.objects.get(pk=first.pk).status == JobStatus.COMPLETED  # finished, not cancelled
    wait_for(lambda: status().startswith("Paused since"), SOON, message="the paused status")
    assert status() == f"Paused since {timezone.localtime(row().paused_at):%H:%M} (by admin)"
    assert row().status_next_at is None and not services.is_stale(row())
    jobs = Job.objects.filter(created_by="test").count()
    time.sleep(2)  # several intervals of 0.2 s: a daemon that still worked would have launched a job
    assert Job.objects.filter(created_by="test").count() == jobs
    assert status().startswith("Paused since")
    pause.resume(row())
    wait_for(lambda: Job.objects.filter(created_by="test").count() > jobs, SOON, message="a new job after Resume")


@pytest.fixture
def generating(stash_emulator, proc_env, processes):
    """Every scene needs a cover; Stash's generate takes 30 s for the 200 scenes, so it can be paused
    midway; a worker runs the jobs."""
    store = stash_emulator.store
    with store.lock:
        for scene in store.scenes.values():
            scene.has_cover = False
    stash_emulator.control("durations", {"generate_seconds": 30})
    SyncRun(get_client(), SyncOptions(full=True)).run()
    Scene.objects.update(generated=False)
    env = {**proc_env, "STASH_URL": stash_emulator.url, "STASH_JOB_POLL_SECONDS": "0.2"}
    processes.manage("runjobs", env=env)
    return env


def covered(store) -> dict[int, str]:
    with store.lock:
        return {s.id: s.updated_at for s in store.scenes.values() if s.has_cover}


def test_hard_pause_stops_stashs_generate_and_resume_finishes_the_rest(generating, stash_emulator, processes):
    store = stash_emulator.store
    host(processes, generating, GENERATION, job_interval_seconds=HOUR, monitor_interval_seconds=1)
    wait_for(lambda: len(covered(store)) >= 20, SOON, message="generation under way")
    job = Job.objects.get(created_by=GENERATION, type="stash_generate")
    pause.pause(row(GENERATION), "hard", by="admin")
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, SOON, message="the generate job stopped")
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.CANCELLED
    assert store.jobs.find(int(job.external_id)).status == "CANCELLED"  # Stash really stopped
    done_before = covered(store)
    assert 20 <= len(done_before) < 200
    wait_for(lambda: status(GENERATION).startswith("Paused since"), SOON, message="the paused status")
    assert not Job.objects.filter(type="stash_generate").exclude(pk=job.pk).exists()
    reasons = list(job.daemon_history.values_list("action", "reason"))
    assert (JobAction.CANCELLED, "Hard pause by admin") in reasons

    # Resume: a new generate at once (the interval is an hour), for what is still missing; what was
    # generated is not redone (Stash skips existing covers: their updated_at stays as it was).
    stash_emulator.control("durations", {"generate_seconds": 3})
    stash_emulator.advance_clock(HOUR)
    pause.resume(row(GENERATION))
    again = wait_for(
        lambda: Job.objects.filter(type="stash_generate").exclude(pk=job.pk).first(), SOON, message="a new generate"
    )
    assert again.parameters["overwrite"] is False
    wait_for(lambda: Job.objects.get(pk=again.pk).status == JobStatus.COMPLETED, 60, message="the rest generated")
    after = covered(store)
    assert len(after) == 200
    assert all(after[scene_id] == stamp for scene_id, stamp in done_before.items())
    assert all(after[scene_id] != done_before.get(scene_id) for scene_id in set(after) - set(done_before))
    assert not Scene.objects.filter(generated=False).exists()
