"""One step of each daemon kind, in-process and with frozen time: what it says, what it launches, what it
records, and how long it asks to wait. (The loop around the steps, the host, leases and signals are tested
with processes in test_daemon_host.py and the kinds' end-to-end files.)

Steps run their blocking work on other threads (their own DB connections), hence `transactional_db`.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from daemons import services
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from daemons.registry import get_kind
from jobs.models import Job, JobStatus
from jobs.services import create_job
from orchestrator import wakeups
from stash import plans
from stash.connection.config import get_client
from stash.connection.follow import identify
from stash.models import Scene
from stash.plans.models import ChangeStatus
from stash.sync.run import SyncOptions, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-03-02T10:00:00+00:00", tick=False)
    return time_machine


def daemon(name: str, **config):
    """The kind's instance for the daemon row `name`, with its configuration over `config`."""
    row = Daemon.objects.get(name=name)
    return get_kind(row.kind)(row.pk, row.name, {**services.effective_config(row), **config})


def step(subject) -> float:
    """One step, with the shared Stash-failure handling, as the loop runs it."""
    return async_to_sync(subject.run_step)()


def row(name: str) -> Daemon:
    return Daemon.objects.get(name=name)


def history(job) -> list[str]:
    return list(DaemonJobHistory.objects.filter(job=job).order_by("id").values_list("action", flat=True))


def logged(name: str, text: str) -> bool:
    return DaemonLog.objects.filter(daemon__name=name, message__contains=text).exists()


def end(job, status=JobStatus.COMPLETED, result=None):
    """What a worker does when the job ends."""
    Job.objects.filter(pk=job.pk).update(status=status, result=result, finished_at=timezone.now())


def own_jobs(name: str, job_type: str):
    return Job.objects.filter(created_by=name, type=job_type).order_by("created_at")


@pytest.fixture
def mirror(stash_emulator):
    SyncRun(get_client(), SyncOptions(full=True)).run()
    return stash_emulator


# --- auto_stash_generation -------------------------------------------------------------------------------


def test_a_generation_step_with_an_active_job_waits_for_it_and_checks_again_as_soon_as_it_ends(stash_emulator, frozen):
    busy = create_job("test")
    subject = daemon("auto_stash_generation")
    waiting = "Jobs are running, waiting for them to finish (checking again by 11:00)"
    assert step(subject) == 5.0
    assert row("auto_stash_generation").current_status == waiting
    frozen.shift(5)
    assert step(subject) == 5.0  # a quiet look: still busy, same status, same deadline
    assert row("auto_stash_generation").current_status == waiting
    assert not own_jobs("auto_stash_generation", "stash_generate").exists()
    end(busy, JobStatus.CANCELLED)
    subject.heard(wakeups.JOB_ENDED, str(busy.pk))
    assert step(subject) == 3600  # the full check at once (nothing to generate in an empty mirror)
    assert row("auto_stash_generation").current_status == "All scenes generated, sleeping for 3600 seconds"


def test_a_generation_step_launches_stash_generate_for_ungenerated_scenes_and_polls_at_the_monitor_interval(mirror):
    Scene.objects.update(generated=True)
    Scene.objects.filter(pk__in=[3, 4]).update(generated=False)
    subject = daemon("auto_stash_generation")
    assert step(subject) == 30
    job = own_jobs("auto_stash_generation", "stash_generate").get()
    assert job.parameters["scene_ids"] == [3, 4]
    state = row("auto_stash_generation")
    assert (state.current_status, state.current_job_id) == ("Generating metadata", str(job.pk))
    assert subject.watching.pk == job.pk


def test_a_generation_step_cancels_the_generation_when_a_scan_appears_and_records_why(mirror):
    Scene.objects.filter(pk=3).update(generated=False)
    subject = daemon("auto_stash_generation")
    step(subject)
    job = own_jobs("auto_stash_generation", "stash_generate").get()
    scan = create_job("stash_scan")
    assert step(subject) == 3600  # a pending job is cancelled at once: its end is handled in the same step
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    assert history(job) == ["LAUNCHED", "CANCELLED", "FINISHED"]
    reason = DaemonJobHistory.objects.get(job=job, action="CANCELLED").reason
    assert reason == f"Cancelled due to detected scan jobs: stash_scan job {scan.pk}"
    assert row("auto_stash_generation").current_status == "Generation cycle complete, sleeping for 3600 seconds"
    assert subject.watching is None


def adoptable_generation(stash_job_id: str, identity: dict) -> Job:
    """A generation this daemon launched before it restarted, its worker following Stash's job."""
    job = create_job("stash_generate", {"scene_ids": [3]}, created_by="auto_stash_generation")
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, external_id=stash_job_id, external_identity=identity, heartbeat_at=timezone.now()
    )
    return Job.objects.get(pk=job.pk)


def test_a_generation_step_after_a_restart_adopts_its_generation_while_stash_still_runs_it(mirror):
    stash_job_id = mirror.control("generate", {})["job_id"]
    job = adoptable_generation(stash_job_id, identify(get_client(), stash_job_id))
    subject = daemon("auto_stash_generation")
    assert step(subject) == 30
    assert subject.watching.pk == job.pk
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_a_generation_step_fails_an_adopted_generation_whose_stash_job_id_now_names_another_job(mirror):
    mirror.control("durations", {"scan_seconds": 60})
    flags = dict(Scene.objects.values_list("id", "generated"))
    ours = mirror.control("generate", {})["job_id"]
    job = adoptable_generation(ours, identify(get_client(), ours))
    mirror.control("restart")
    theirs = mirror.control("scan", {})["job_id"]
    assert theirs == ours
    subject = daemon("auto_stash_generation")
    step(subject)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert f"Stash restarted; its job {ours} is now a different job" in job.error
    assert history(job) == ["FAILED"]
    assert subject.watching is None
    assert not own_jobs("auto_stash_generation", "stash_generate").exclude(pk=job.pk).exists()
    assert mirror.store.jobs.find(int(theirs)).status == "RUNNING"  # someone else's scan, left alone
    assert dict(Scene.objects.values_list("id", "generated")) == flags


def test_a_generation_step_with_everything_generated_rests(mirror):
    Scene.objects.update(generated=True)
    assert step(daemon("auto_stash_generation", job_interval_seconds=120)) == 120
    assert row("auto_stash_generation").current_status == "All scenes generated, sleeping for 120 seconds"


def test_a_failing_stash_backs_off_doubling_then_says_once_that_it_answers_again(stash_emulator, monkeypatch, settings):
    subject = daemon("auto_stash_generation", job_interval_seconds=1)
    settings.STASH_URL = "http://127.0.0.1:9"  # nothing listens there
    monkeypatch.setattr(
        "stash.connection.client.StashClient.sleep", staticmethod(lambda seconds: None)
    )  # its own retries
    assert [step(subject), step(subject), step(subject)] == [0.5, 1.0, 1.0]  # STASH_RETRY_FIRST_SECONDS=0.5
    assert row("auto_stash_generation").current_status.startswith(
        "Stash is unreachable or failing, retrying in 1 seconds: "
    )
    assert row("auto_stash_generation").status_level == "error"
    assert logged("auto_stash_generation", "; retrying in 0 s")
    settings.STASH_URL = stash_emulator.url
    step(subject)
    assert DaemonLog.objects.filter(daemon__name="auto_stash_generation", message="Stash answers again").count() == 1


# --- auto_stash_sync ------------------------------------------------------------------------------------


def test_a_sync_step_with_nothing_pending_returns_the_interval(mirror):
    assert step(daemon("auto_stash_sync")) == 300
    assert row("auto_stash_sync").current_status == "No pending scenes, sleeping for 300 seconds"


def test_a_sync_step_watches_someone_elses_sync_instead_of_starting_one(stash_emulator):
    theirs = create_job("sync")
    subject = daemon("auto_stash_sync")
    assert step(subject) == 1.0
    assert (row("auto_stash_sync").current_status, row("auto_stash_sync").current_job_id) == (
        "Waiting for sync to complete",
        str(theirs.pk),
    )
    assert Job.objects.count() == 1
    end(theirs, result={"scenes_synced": 7})
    assert step(subject) == 300
    assert row("auto_stash_sync").current_status == "Sync completed for 7 scenes"
    assert history(theirs) == []  # not ours: nothing in our history


def test_a_step_watching_a_finished_job_records_finished_in_the_history(stash_emulator):
    subject = daemon("auto_stash_sync")
    assert step(subject) == 1.0  # an empty mirror: every scene is pending
    job = own_jobs("auto_stash_sync", "sync").get()
    assert row("auto_stash_sync").current_status == f"Syncing {len(stash_emulator.store.scenes)} scenes from Stash"
    assert step(subject) == 1.0  # still pending
    end(job, result={"scenes_synced": 200})
    assert step(subject) == 300
    assert history(job) == ["LAUNCHED", "FINISHED"]
    assert row("auto_stash_sync").current_status == "Sync completed for 200 scenes"


def test_a_sync_step_says_it_syncs_tag_changes_made_in_stash(mirror):
    mirror.advance_clock(600)
    tags = sorted(mirror.store.tags)
    mirror.control(f"tags/{tags[0]}", {"name": "Renamed in Stash"})
    mirror.control("tags", {"name": "Created in Stash"})
    mirror.control(f"performers/{sorted(mirror.store.performers)[0]}", {"name": "Renamed performer"})
    subject = daemon("auto_stash_sync")
    assert step(subject) == 1.0
    assert row("auto_stash_sync").current_status == "Syncing 2 tag changes and 1 performer change from Stash"
    assert own_jobs("auto_stash_sync", "sync").count() == 1
    assert logged("auto_stash_sync", "Found 0 scenes, 2 tag changes, 1 performer change pending sync")


# --- auto_plan_applier ----------------------------------------------------------------------------------


def approved_plan(name: str, scene_id: int = 5):
    Scene.objects.get_or_create(pk=scene_id)
    plan = plans.create_plan(name)
    [change] = plans.add_changes(
        plan, scene_id, [{"field": "tags", "action": "add", "current_value": [], "proposed_value": "Tag_AI"}]
    )
    plans.set_change_status(change, ChangeStatus.APPROVED)
    return plan


def test_a_plan_applier_step_launches_apply_plan_for_an_approved_plan_and_returns_1():
    plan = approved_plan("Auto Video Analysis - 1")
    subject = daemon("auto_plan_applier")
    assert step(subject) == 1.0
    job = own_jobs("auto_plan_applier", "apply_plan").get()
    assert (job.parameters["plan_id"], job.parameters["auto_approve"], job.parameters["create_missing"]) == (
        plan.pk,
        False,
        True,
    )
    state = row("auto_plan_applier")
    assert (state.current_status, state.current_job_id) == ("Waiting for plan application to complete", str(job.pk))
    assert history(job) == ["LAUNCHED"]


def test_a_plan_applier_step_skips_a_plan_another_job_applies_and_says_there_is_nothing_to_process():
    plan = approved_plan("Auto Video Analysis - 1")
    create_job("apply_plan", {"plan_id": plan.pk})
    assert step(daemon("auto_plan_applier")) == 60
    assert row("auto_plan_applier").current_status == "No plans to process, sleeping for 60 seconds"
    assert logged("auto_plan_applier", f"Plan {plan.pk} is already being applied by another job")
    assert not own_jobs("auto_plan_applier", "apply_plan").exists()


def pending_plan(name: str, changes: int, scene_id: int = 5):
    Scene.objects.get_or_create(pk=scene_id)
    plan = plans.create_plan(name)
    proposed = [
        {"field": "tags", "action": "add", "current_value": [], "proposed_value": f"T{n}"} for n in range(changes)
    ]
    plans.add_changes(plan, scene_id, proposed)
    return plan


def test_a_plan_applier_step_with_only_unreviewed_changes_points_to_the_plans_to_review():
    pending_plan("Auto Video Analysis - 1", 100)
    pending_plan("Auto Video Analysis - 2", 56, scene_id=6)
    pending_plan("Manual", 7, scene_id=7)
    assert step(daemon("auto_plan_applier", plan_prefix_filter=["Auto Video"])) == 60
    state = row("auto_plan_applier")
    assert state.current_status == "2 plans waiting for review (156 changes)"
    assert (state.status_level, state.status_link_url, state.status_link_label) == (
        "waiting",
        "/plans/",
        "Review plans",
    )
    assert not own_jobs("auto_plan_applier", "apply_plan").exists()


def test_a_new_plan_to_review_ends_the_applier_rest_and_is_said_at_once(frozen):
    subject = daemon("auto_plan_applier")
    assert step(subject) == 60
    assert row("auto_plan_applier").current_status == "No plans to process, sleeping for 60 seconds"
    plan = pending_plan("Auto Video Analysis - 1", 3)
    plans.finish_plan(plan)
    frozen.shift(5)
    subject.heard(wakeups.PLANS, str(plan.pk))
    step(subject)  # still within the 60 s: the rest's quiet question sees the new plan
    assert row("auto_plan_applier").current_status == "1 plan waiting for review (3 changes)"
    frozen.shift(5)
    subject.heard(wakeups.PLANS, str(plan.pk))  # nothing changed for the reviewer: the rest goes on
    assert step(subject) == 55  # the rest that began when the new status was said
    assert not own_jobs("auto_plan_applier", "apply_plan").exists()


def test_a_plan_applier_step_with_auto_approval_applies_unreviewed_changes_instead_of_pointing_to_them():
    pending_plan("Auto Video Analysis - 1", 3)
    assert step(daemon("auto_plan_applier", auto_approve_all_changes=True)) == 1.0
    assert own_jobs("auto_plan_applier", "apply_plan").exists()


def test_a_plan_applier_step_after_the_last_apply_says_the_cycle_is_complete():
    approved_plan("Auto Video Analysis - 1")
    subject = daemon("auto_plan_applier")
    step(subject)
    job = own_jobs("auto_plan_applier", "apply_plan").get()
    end(job, JobStatus.FAILED)
    assert step(subject) == 60
    assert history(job) == ["LAUNCHED", "FAILED"]
    assert row("auto_plan_applier").current_status == "Plan application cycle complete, sleeping for 60 seconds"
    assert logged("auto_plan_applier", "ended failed")


# --- auto_video_analysis --------------------------------------------------------------------------------


def test_an_analysis_step_with_nothing_due_rests_looking_for_work_every_5_seconds(frozen):
    Scene.objects.create(pk=1, video_analyzed=True)
    subject = daemon("auto_video_analysis")
    assert step(subject) == 5.0
    assert row("auto_video_analysis").current_status == "No scenes to analyze, sleeping for 600 seconds"
    frozen.shift(598)
    assert step(subject) == 2.0  # still resting: what is left of the interval
    frozen.shift(2)
    assert step(subject) == 5.0  # the interval is up: a new check, and a new rest
    assert DaemonLog.objects.filter(daemon__name="auto_video_analysis", message__startswith="No scenes").count() == 2


def test_an_analysis_step_while_resting_starts_a_batch_as_soon_as_scenes_are_due(frozen):
    subject = daemon("auto_video_analysis", batch_size=2)
    step(subject)
    Scene.objects.bulk_create([Scene(pk=pk) for pk in (1, 2, 3)])
    frozen.shift(5)
    assert step(subject) == 1.0
    job = own_jobs("auto_video_analysis", "analysis").get()
    assert job.parameters["scene_ids"] == [3, 2]  # newest first
    assert row("auto_video_analysis").current_status == "Analyzing video tags for 2 scenes"
    assert logged("auto_video_analysis", "Processing batch 1 of 2 (2 scenes)")


def test_an_analysis_step_after_a_full_batch_with_more_due_starts_the_next_one_at_once():
    Scene.objects.bulk_create([Scene(pk=pk) for pk in (1, 2, 3)])
    subject = daemon("auto_video_analysis", batch_size=2)
    step(subject)
    job = own_jobs("auto_video_analysis", "analysis").get()
    Scene.objects.filter(pk__in=[2, 3]).update(video_analyzed=True)
    end(job, result={"scenes_analyzed": 2, "scenes_failed": 0})
    assert step(subject) == 0.0
    assert history(job) == ["LAUNCHED", "FINISHED"]
    assert step(subject) == 1.0
    assert row("auto_video_analysis").current_status == "Analyzing video tags for 1 scenes"
    assert logged("auto_video_analysis", "Processing batch 2 of 2 (1 scenes)")


def test_a_new_configuration_ends_an_analysis_rest():
    subject = daemon("auto_video_analysis")
    step(subject)
    subject.apply_config({**subject.config, "job_interval_seconds": 2})
    assert step(subject) == 2.0
    assert row("auto_video_analysis").current_status == "No scenes to analyze, sleeping for 2 seconds"


# --- download_processor ---------------------------------------------------------------------------------


def test_a_download_step_without_qbittorrent_says_so_and_waits_the_interval():
    assert step(daemon("download_processor")) == 300
    state = row("download_processor")
    assert state.current_status.startswith("qBittorrent is not configured")
    assert state.current_status.endswith("; retrying in 300 seconds")
    # Something a person must fix: a warning, with the page where to fix it.
    assert (state.status_level, state.status_link_url, state.status_link_label) == (
        "warning",
        "/settings/qbittorrent/",
        "qBittorrent settings",
    )


def test_a_download_step_watches_the_live_processing_job_then_sleeps_when_nothing_is_left_to_scan():
    theirs = create_job("process_downloads")
    subject = daemon("download_processor")
    assert step(subject) == 1.0
    assert row("download_processor").current_status == "Waiting for download processing to complete"
    end(theirs, result={"synced_items": 0})
    assert step(subject) == 300
    assert row("download_processor").current_status == "Download processing cycle complete, sleeping for 300 seconds"
    assert logged("download_processor", f"Process downloads job {theirs.pk} completed: 0 torrents handled")


# --- test -----------------------------------------------------------------------------------------------


def test_a_test_step_launches_a_job_on_the_first_iteration_and_rests_after_it_ended():
    subject = daemon("test", interval_seconds=2.5)
    assert step(subject) == 1.0
    job = own_jobs("test", "test").get()
    assert row("test").current_status == "Waiting for test job (iteration 1)"
    end(job)
    assert step(subject) == 2.5
    assert history(job) == ["LAUNCHED", "FINISHED"]
    assert row("test").current_status == "Sleeping for 2.5 seconds"
    assert step(subject) == 2.5  # iteration 2: no job due
    assert own_jobs("test", "test").count() == 1


def test_a_test_step_after_a_restart_watches_the_job_it_had_launched():
    first = daemon("test")
    step(first)
    job = own_jobs("test", "test").get()
    again = daemon("test")
    assert step(again) == 1.0
    assert again.watching.pk == job.pk
    assert own_jobs("test", "test").count() == 1


def test_the_loop_writes_the_start_line_once_and_ends_within_a_second_of_a_stop_request():
    subject = daemon("test", launch_jobs=False, interval_seconds=3600)

    async def run_then_stop():
        loop = asyncio.create_task(subject.run())
        await asyncio.sleep(0.3)
        subject.request_stop()
        await asyncio.wait_for(loop, timeout=1.0)

    async_to_sync(run_then_stop)()
    started = DaemonLog.objects.filter(daemon__name="test", message__startswith="Test daemon started with config")
    assert started.count() == 1
    assert row("test").current_status == "Sleeping for 3600 seconds"
