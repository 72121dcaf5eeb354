"""Sync, scan, generate and check jobs end to end: a real `runjobs` worker process, the Stash emulator
over HTTP, the database the test sees."""

import pytest

from jobs.models import Job, JobStatus
from jobs.services import cancel_job, create_job
from stash.connection.config import get_client
from stash.emulator.tasks import ScanTask
from stash.models import Scene, SyncCursor
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(stash_emulator, proc_env, processes):
    env = {**proc_env, "STASH_URL": stash_emulator.url, "STASH_JOB_POLL_SECONDS": "0.1"}
    return processes.manage("runjobs", "--concurrency", "2", env=env)


def finished(job: Job, timeout: float = 60) -> Job:
    wait_for(lambda: Job.objects.filter(pk=job.pk, finished_at__isnull=False).exists(), timeout, message="the job")
    job.refresh_from_db()
    return job


def mirror():
    SyncRun(get_client(), SyncOptions(full=True)).run()


def test_a_sync_job_mirrors_stash(stash_emulator, worker):
    job = finished(create_job("sync", {"full": True}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert Scene.objects.count() == len(stash_emulator.store.scenes) == job.result["scenes_synced"]
    assert job.progress == 100
    assert SyncCursor.objects.get(name="scenes").watermark


def test_a_sync_scenes_job_rereads_the_given_scenes(stash_emulator, worker):
    mirror()
    stash_emulator.control("scenes/7", {"title": "Edited in Stash"})
    job = finished(create_job("sync_scenes", {"scene_ids": [7]}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert Scene.objects.get(pk=7).title == "Edited in Stash"


def test_a_scan_job_runs_stashs_scan_and_new_files_become_scenes(stash_emulator, worker, tmp_path):
    (tmp_path / "new folder").mkdir()
    (tmp_path / "new folder" / "clip.mp4").write_bytes(b"\0" * 1024)
    before = len(stash_emulator.store.scenes)
    job = finished(create_job("stash_scan", {"paths": [str(tmp_path)]}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert job.external_id == job.result["stash_job_id"]
    assert len(stash_emulator.store.scenes) == before + 1
    assert str(tmp_path / "new folder" / "clip.mp4") in stash_emulator.store.files_by_path


def test_generate_marks_only_what_stash_really_generated(stash_emulator, worker):
    mirror()
    Scene.objects.update(generated=False)
    failing = sorted(s.id for s in stash_emulator.store.scenes.values() if not s.has_cover)[:3]
    stash_emulator.control("fail-generation", {"scene_ids": failing})
    job = finished(create_job("stash_generate", {}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert set(Scene.objects.filter(generated=False).values_list("id", flat=True)) == set(failing)
    assert job.result["scenes_still_missing"] == 3


def test_generate_for_given_scenes_sends_their_ids(stash_emulator, worker):
    mirror()
    Scene.objects.update(generated=False)
    store = stash_emulator.store
    ungenerated = [s.id for s in store.scenes.values() if not s.has_cover][:2]
    job = finished(create_job("stash_generate", {"scene_ids": ungenerated}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert all(store.scenes[i].has_cover for i in ungenerated)
    assert job.result["scenes_checked"] == 2
    assert set(Scene.objects.filter(generated=True).values_list("id", flat=True)) == set(ungenerated)


def test_cancelling_generate_stops_stashs_job(stash_emulator, worker):
    stash_emulator.control("durations", {"generate_seconds": 60})
    job = create_job("stash_generate", {})
    stash_id = wait_for(lambda: Job.objects.get(pk=job.pk).external_id, 30, message="the Stash job id")
    wait_for(lambda: stash_emulator.store.jobs.find(int(stash_id)).status == "RUNNING", 10, message="RUNNING")
    cancel_job(job)
    job = finished(job, timeout=30)
    assert job.status == JobStatus.CANCELLED
    assert stash_emulator.store.jobs.find(int(stash_id)).status == "CANCELLED"
    assert not Scene.objects.filter(generated=True).exists()


def test_a_generate_job_stash_loses_fails_and_marks_nothing(stash_emulator, worker):
    mirror()
    Scene.objects.update(generated=False)
    stash_emulator.control("durations", {"generate_seconds": 60})
    job = create_job("stash_generate", {})
    wait_for(lambda: Job.objects.get(pk=job.pk).external_id, 30, message="the Stash job id")
    stash_emulator.control("restart")  # Stash restarted: its job queue and history are gone
    job = finished(job, timeout=30)
    assert job.status == JobStatus.FAILED
    assert "gone from Stash" in job.error
    assert not Scene.objects.filter(generated=True).exists()


def test_a_generate_job_whose_stash_job_id_goes_to_another_job_after_a_restart_fails_and_marks_nothing(
    stash_emulator, worker
):
    mirror()
    Scene.objects.update(generated=False)
    stash_emulator.control("durations", {"generate_seconds": 60, "scan_seconds": 0.2})
    job = create_job("stash_generate", {})
    stash_id = wait_for(lambda: Job.objects.get(pk=job.pk).external_id, 30, message="the Stash job id")
    jobs = stash_emulator.store.jobs
    with stash_emulator.store.lock:  # at once, so that no poll sees the id unknown in between
        jobs.restart()
        scan_id = str(jobs.add(ScanTask.description, ScanTask({})))
    assert scan_id == stash_id
    job = finished(job, timeout=30)
    assert job.status == JobStatus.FAILED
    assert f"Stash restarted; its job {stash_id} is now a different job" in job.error
    assert not Scene.objects.filter(generated=True).exists()
    wait_for(lambda: jobs.find(int(scan_id)).status == "FINISHED", 10, message="the scan, left alone, to finish")


def test_a_failed_stash_job_fails_ours_with_stashs_reason(stash_emulator, worker):
    stash_emulator.control("fail-next-job", {"error": "disk full", "at": 0.2})
    job = finished(create_job("stash_scan", {}))
    assert job.status == JobStatus.FAILED
    assert "disk full" in job.error


def test_check_sets_generated_from_what_stash_reports_missing(stash_emulator, worker):
    mirror()
    Scene.objects.update(generated=True)
    store = stash_emulator.store
    missing = {
        s.id for s in store.scenes.values() if not s.has_cover or any(not f.fingerprint("phash") for f in s.files)
    }
    assert 0 < len(missing) < len(store.scenes)
    job = finished(create_job("check_stash_generate", {}))
    assert job.status == JobStatus.COMPLETED, job.error
    assert set(Scene.objects.filter(generated=False).values_list("id", flat=True)) == missing
    assert job.result["scenes_needing_generation"] == len(missing)
    assert all(len(ids) <= 5 for ids in job.result["samples"].values())  # small whatever the library size


def test_an_unreachable_stash_fails_the_job_with_the_reason(proc_env, processes):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    processes.manage("runjobs", env={**proc_env, "STASH_URL": url})
    job = finished(create_job("sync", {}), timeout=60)
    assert job.status == JobStatus.FAILED
    assert url in job.error
    assert url in job.message
    assert not SyncCursor.objects.exists()


def test_a_rejected_api_key_fails_the_job(stash_emulator, worker):
    stash_emulator.store.api_key = "the-right-key"
    job = finished(create_job("sync", {}))
    assert job.status == JobStatus.FAILED
    assert "API key" in job.error
    assert not Scene.objects.exists()


def test_scenes_stash_generated_are_marked_although_a_sync_reread_them_meanwhile(stash_emulator):
    """Covers bump updated_at, so a sync during the generation re-reads those scenes; they still count as
    generated. A scene whose markers changed meanwhile stays ungenerated (its previews may be missing)."""
    from django.utils import timezone

    from jobs.types.stash_generate import record_generated
    from stash.emulator.tasks import GenerateTask

    store = stash_emulator.store
    mirror()
    edited = next(s for s in store.scenes.values() if s.marker_ids and s.files)
    scope = sorted({s.id for s in store.scenes.values() if not s.has_cover and s.files} | {edited.id})
    Scene.objects.update(generated=True)
    Scene.objects.filter(id__in=scope).update(generated=False)
    started = timezone.now()
    stash_emulator.advance_clock(60)
    task = GenerateTask({"covers": True, "phashes": True})
    for index in range(task.prepare(store) // 2):
        task.apply(store, index)
    stash_emulator.control(f"markers/{edited.marker_ids[0]}", {"title": "Edited during generation"})
    report = SyncRun(get_client(), SyncOptions()).run()
    assert report.counts["scenes_synced"] >= len(scope) // 3  # the sync re-read the cover bumps
    for index in range(task.prepare(store)):
        task.apply(store, index)
    record_generated(get_client(), [], False, started)
    assert set(Scene.objects.filter(generated=False).values_list("id", flat=True)) == {edited.id}
