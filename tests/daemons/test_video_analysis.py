"""The AutoVideoAnalysisDaemon end to end: a `rundaemon` host and a `runjobs` worker as processes, the
mirror from the Stash emulator, and the AI video tagger stand-in over HTTP from this process."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from websockets.sync.client import connect

from daemons import services
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from jobs.models import Job, JobStatus
from jobs.services import create_job
from stash.connection.config import get_client
from stash.models import Scene
from stash.plans.models import AnalysisPlan
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import free_port, wait_for
from tests.video_tagger import TaggerStandIn

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

NAME = "auto_video_analysis"
ANSWER = {"result": {"video_tag_info": {"video_tags": {"scene": ["Sunset"]}}}}


@pytest.fixture
def tagger():
    stand_in = TaggerStandIn().start()
    stand_in.reply(ANSWER)
    yield stand_in
    stand_in.stop()


@pytest.fixture
def env(stash_emulator, proc_env, tagger):
    # The daemon and the job need the mirror and the tagger, never Stash: point STASH_URL nowhere.
    return {**proc_env, "STASH_URL": f"http://127.0.0.1:{free_port()}", "VIDEO_TAGGER_URL": tagger.url}


def mirror_with_unanalysed(count: int) -> list[int]:
    """Mirror the emulator's library with every scene analysed except the newest `count` (newest first)."""
    SyncRun(get_client(), SyncOptions(full=True)).run()
    Scene.objects.update(video_analyzed=True)
    ids = list(Scene.objects.order_by("-id").values_list("id", flat=True)[:count])
    Scene.objects.filter(pk__in=ids).update(video_analyzed=False)
    return ids


def host(processes, env, **config):
    daemon = Daemon.objects.get(name=NAME)
    services.update_configuration(daemon, config, partial=True)
    proc = processes.manage("rundaemon", NAME, env=env)
    services.start(Daemon.objects.get(name=NAME))
    return proc


def worker(processes, env):
    return processes.manage("runjobs", "--concurrency", "2", env=env)


def daemon_jobs():
    return Job.objects.filter(created_by=NAME, type="analysis").order_by("created_at")


def row() -> Daemon:
    return Daemon.objects.get(name=NAME)


def history(job) -> list[str]:
    return list(DaemonJobHistory.objects.filter(job=job).order_by("id").values_list("action", flat=True))


def info_logs(prefix: str) -> list[str]:
    rows = DaemonLog.objects.filter(daemon__name=NAME, message__startswith=prefix).order_by("id")
    return list(rows.values_list("message", flat=True))


def test_it_analyses_the_pending_scenes_in_batches_then_sleeps(env, processes, tagger):
    pending = mirror_with_unanalysed(7)
    worker(processes, env)
    host(processes, env, batch_size=3, job_interval_seconds=1)
    wait_for(lambda: not Scene.objects.filter(video_analyzed=False).exists(), 60, message="every scene analysed")
    wait_for(
        lambda: row().current_status == "No scenes to analyze, sleeping for 1 seconds", 20, message="the idle status"
    )
    jobs = list(daemon_jobs())
    assert [job.parameters["scene_ids"] for job in jobs] == [pending[0:3], pending[3:6], pending[6:7]]
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    assert info_logs("Processing batch") == [
        "Processing batch 1 of 3 (3 scenes)",
        "Processing batch 2 of 3 (3 scenes)",
        "Processing batch 3 of 3 (1 scenes)",
    ]
    # One plan per job, named as the daemon names them, with each scene's proposals.
    plans = list(AnalysisPlan.objects.order_by("created_at"))
    assert [plan.source_job_id for plan in plans] == [job.pk for job in jobs]
    assert all(plan.name.startswith("Auto Video Analysis - ") for plan in plans)
    assert plans[0].changes.filter(proposed_value="Sunset_AI").count() == 3
    wait_for(lambda: history(jobs[-1]) == ["LAUNCHED", "FINISHED"], 10, message="the last job's history")
    assert [history(job) for job in jobs[:-1]] == [["LAUNCHED", "FINISHED"]] * 2
    assert len(tagger.requests) == 7


def test_it_never_queues_a_scene_another_analysis_job_holds(env, processes, tagger):
    pending = mirror_with_unanalysed(5)
    held = pending[:2]
    someone_elses = create_job("analysis", {"scene_ids": held})  # no worker yet: it stays pending
    host(processes, env, batch_size=10, job_interval_seconds=1)
    job = wait_for(lambda: daemon_jobs().first(), 20, message="the daemon's job")
    assert job.parameters["scene_ids"] == pending[2:]
    wait_for(lambda: row().current_job_id == str(job.pk), 10, message="the daemon to watch its job")
    assert row().current_status == "Analyzing video tags for 3 scenes"
    assert row().current_job_type == "analysis"
    time.sleep(2)  # several intervals: still one job of its own, and the held scenes stay with their job
    assert daemon_jobs().count() == 1
    worker(processes, env)
    wait_for(lambda: not Scene.objects.filter(video_analyzed=False).exists(), 60, message="every scene analysed")
    wait_for(lambda: row().current_status.startswith("No scenes to analyze"), 20, message="the idle status")
    assert Job.objects.get(pk=someone_elses.pk).status == JobStatus.COMPLETED
    queued = [i for job in Job.objects.filter(type="analysis") for i in job.parameters["scene_ids"]]
    assert sorted(queued) == sorted(pending)  # every scene queued exactly once
    assert len(tagger.requests) == 5


def test_after_a_restart_it_watches_the_job_it_started_instead_of_starting_another(env, processes):
    pending = mirror_with_unanalysed(4)
    host(processes, env, batch_size=10, job_interval_seconds=1)
    job = wait_for(lambda: daemon_jobs().first(), 20, message="the daemon's job")  # pending: no worker
    wait_for(lambda: row().current_job_id == str(job.pk), 10, message="the daemon to watch its job")
    services.stop(row())
    wait_for(lambda: row().actual_state == "stopped", 10, message="stopped")
    assert (row().current_status, row().current_job_id) == (None, None)
    services.start(row())
    wait_for(lambda: row().actual_state == "running", 10, message="running again")
    wait_for(lambda: row().current_job_id == str(job.pk), 10, message="the daemon to adopt its job")
    assert row().current_status == "Analyzing video tags for 4 scenes"
    time.sleep(1.5)
    assert daemon_jobs().count() == 1
    worker(processes, env)
    wait_for(lambda: history(job) == ["LAUNCHED", "FINISHED"], 60, message="the adopted job's outcome")
    assert set(Scene.objects.filter(video_analyzed=True, pk__in=pending).values_list("id", flat=True)) == set(pending)
    assert daemon_jobs().count() == 1


def test_scenes_the_tagger_failed_on_wait_for_their_retry_time(env, processes, tagger):
    pending = mirror_with_unanalysed(3)
    tagger.reply({"detail": "model server overloaded"}, status=503)
    worker(processes, env)
    host(processes, env, batch_size=10, job_interval_seconds=1)
    job = wait_for(lambda: daemon_jobs().first(), 20, message="the daemon's job")
    wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.COMPLETED, 30, message="the job to end")
    wait_for(lambda: row().current_status.startswith("No scenes to analyze"), 20, message="the idle status")
    failed = Scene.objects.filter(pk__in=pending)
    assert not failed.filter(video_analyzed=True).exists()
    assert all("HTTP 503" in scene.video_analysis_error for scene in failed)
    assert Job.objects.get(pk=job.pk).result["scenes_failed"] == 3
    time.sleep(2.5)  # more than two intervals: the failed scenes are not retried before their time
    assert daemon_jobs().count() == 1 and len(tagger.requests) == 3
    # Their retry time comes, and the tagger is back.
    tagger.reply(ANSWER)
    failed.update(video_analysis_retry_at=timezone.now() - timedelta(seconds=1))
    wait_for(lambda: not failed.filter(video_analyzed=False).exists(), 30, message="the retried scenes analysed")
    assert daemon_jobs().count() == 2
    assert set(failed.values_list("video_analysis_attempts", flat=True)) == {0}


def test_a_websocket_client_sees_the_statuses_in_order(env, processes, daphne_server, user, tagger):
    mirror_with_unanalysed(5)
    tagger.reply(ANSWER, delay=0.2)
    worker(processes, env)
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = daphne_server.replace("http", "ws") + "/ws/live/?subscribe=daemons"
    idle = "No scenes to analyze, sleeping for 1 seconds"
    with connect(url, additional_headers={"Cookie": cookie}, origin=daphne_server, open_timeout=5) as ws:
        while json.loads(ws.recv(timeout=5))["type"] != "snapshot_done":
            pass
        host(processes, env, batch_size=3, job_interval_seconds=1)
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(status == idle for status, _ in seen):
            try:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            state = message.get("daemon") or {}
            status = state.get("current_status")
            if state.get("name") == NAME and status and (not seen or seen[-1][0] != status):
                seen.append((status, state.get("current_job_type") or None))
    expected = [
        ("Checking for scenes needing video analysis", None),
        ("Processing batch 1 of 2 (3 scenes)", None),
        ("Analyzing video tags for 3 scenes", "analysis"),
        # Scenes are still due: the next batch starts at once, not after the interval.
        ("Checking for scenes needing video analysis", None),
        ("Processing batch 2 of 2 (2 scenes)", None),
        ("Analyzing video tags for 2 scenes", "analysis"),
        ("Analysis completed, sleeping for 1 seconds", None),
        ("Checking for scenes needing video analysis", None),
        (idle, None),
    ]
    assert seen[-len(expected) :] == expected, seen


def test_while_idle_it_wakes_early_when_scenes_become_due(env, processes, tagger):
    pending = mirror_with_unanalysed(2)
    Scene.objects.filter(pk__in=pending).update(video_analyzed=True)
    worker(processes, env)
    host(processes, env, job_interval_seconds=3600)
    idle = "No scenes to analyze, sleeping for 3600 seconds"
    wait_for(lambda: row().current_status == idle, 20, message="the idle status")
    assert not daemon_jobs().exists()
    # A sync brings scenes not analysed yet: they are picked up within a few seconds, not in an hour.
    Scene.objects.filter(pk__in=pending).update(video_analyzed=False)
    job = wait_for(lambda: daemon_jobs().first(), 20, message="a job well before the interval is up")
    assert sorted(job.parameters["scene_ids"]) == sorted(pending)
    wait_for(lambda: not Scene.objects.filter(pk__in=pending, video_analyzed=False).exists(), 30, message="analysed")
    wait_for(lambda: row().current_status == "Analysis completed, sleeping for 3600 seconds", 20, message="resting")
    assert daemon_jobs().count() == 1


def test_a_new_configuration_ends_the_idle_sleep(env, processes, tagger):
    mirror_with_unanalysed(0)
    host(processes, env, job_interval_seconds=3600)
    wait_for(lambda: row().current_status == "No scenes to analyze, sleeping for 3600 seconds", 20, message="idle")
    services.update_configuration(row(), {"job_interval_seconds": 2}, partial=True)
    wait_for(lambda: row().current_status == "No scenes to analyze, sleeping for 2 seconds", 20, message="re-checked")
