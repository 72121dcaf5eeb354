"""The download processor daemon end to end: a `rundaemon` host and a `runjobs` worker as processes, a
real qbittorrent-nox on loopback, the Stash emulator over HTTP (its scan really walks the folders it is
given), and a WebSocket client for the statuses."""

import json
import os
import time

import pytest
from django.test import Client
from websockets.sync.client import connect

from daemons import services
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from jobs.models import Job
from jobs.services import create_job
from stash.downloads.models import FileStatus, HandledDownload, QBittorrentLogin
from tests.conftest import free_port, wait_for
from tests.qbittorrent import QBittorrent, configure

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

NAME = "download_processor"


@pytest.fixture
def qb(tmp_path):
    server = QBittorrent(tmp_path / "qbt", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def stash_env(stash_emulator, proc_env):
    return {**proc_env, "STASH_URL": stash_emulator.url}


@pytest.fixture
def worker(stash_env, processes):
    return processes.manage("runjobs", "--concurrency", "2", env=stash_env)


def host(processes, env, **config):
    daemon = Daemon.objects.get(name=NAME)
    services.update_configuration(daemon, {"job_interval_seconds": 1, **config}, partial=True)
    proc = processes.manage("rundaemon", NAME, env=env)
    services.start(Daemon.objects.get(name=NAME))
    return proc


def status() -> str:
    return Daemon.objects.get(name=NAME).current_status or ""


def history(job) -> list[str]:
    return list(DaemonJobHistory.objects.filter(job=job).order_by("id").values_list("action", flat=True))


def write(path, size=4096):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def test_the_chain_processes_then_scans_then_sleeps_and_stash_sees_the_files_at_its_own_paths(
    qb, tmp_path, stash_emulator, stash_env, processes, worker, daphne_server, user
):
    write(qb.downloads / "Show" / "S01" / "e01.mkv")
    write(qb.downloads / "Show" / "S01" / "e02.mkv")
    write(qb.downloads / "movie.mp4")
    show = qb.add_local(qb.downloads / "Show", category="xxx")
    movie = qb.add_local(qb.downloads / "movie.mp4", category="xxx")
    library = tmp_path / "library"
    # Stash sees the library under another path (here a symlink to it, so the emulator can walk it).
    stash_view = tmp_path / "stash-data"
    library.mkdir()
    stash_view.symlink_to(library)
    configure(qb, library, library_stash_path=str(stash_view))
    scenes_before = len(stash_emulator.store.scenes)

    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = daphne_server.replace("http", "ws") + "/ws/live/?subscribe=daemons"
    seen = []
    with connect(url, additional_headers={"Cookie": cookie}, origin=daphne_server, open_timeout=5) as ws:
        while json.loads(ws.recv(timeout=5))["type"] != "snapshot_done":
            pass
        host(processes, stash_env, job_interval_seconds=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("sleeping for 30 seconds" in s for s, _ in seen):
            try:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            state = message.get("daemon") or {}
            if state.get("name") == NAME and state.get("current_status"):
                item = (state["current_status"], state.get("current_job_type") or None)
                if not seen or seen[-1] != item:
                    seen.append(item)

    expected = [
        ("Checking qBittorrent for new downloads", None),
        ("Processing 2 downloads", "process_downloads"),
        ("Triggering Stash metadata scan", "stash_scan"),
        ("Download processing cycle complete, sleeping for 30 seconds", None),
    ]
    assert all(item in seen for item in expected), seen
    assert [seen.index(item) for item in expected] == sorted(seen.index(item) for item in expected), seen

    processing = Job.objects.get(type="process_downloads")
    scan = Job.objects.get(type="stash_scan")
    assert processing.created_by == scan.created_by == NAME
    assert processing.status == "completed" and scan.status == "completed", (processing.error, scan.error)
    assert processing.finished_at <= scan.created_at  # strictly chained
    assert history(processing) == ["LAUNCHED", "FINISHED"] and history(scan) == ["LAUNCHED", "FINISHED"]
    # Exactly the new files' folders, as this machine sees them, and as Stash sees them.
    assert scan.parameters["paths"] == [str(library), str(library / "Show" / "S01")]
    assert scan.result["paths"] == [str(stash_view), str(stash_view / "Show" / "S01")]
    stash_paths = set(stash_emulator.store.files_by_path)
    assert {str(stash_view / "movie.mp4"), str(stash_view / "Show" / "S01" / "e01.mkv")} <= stash_paths
    assert len(stash_emulator.store.scenes) == scenes_before + 3
    assert qb.tags_of(show) == {"synced"} and qb.tags_of(movie) == {"synced"}
    assert set(HandledDownload.objects.values_list("scan_job_id", flat=True)) == {scan.pk}
    assert Job.objects.filter(type="process_downloads").count() == 1


def test_with_nothing_to_do_it_says_so_and_sleeps(qb, tmp_path, stash_env, processes):
    configure(qb, tmp_path / "library")
    host(processes, stash_env)
    wait_for(lambda: status() == "No new downloads, sleeping for 1 seconds", 20, message="the idle status")
    assert not Job.objects.exists()


def test_not_configured_says_exactly_that_and_retries(tmp_path, stash_env, processes):
    host(processes, stash_env)
    wait_for(lambda: status().startswith("qBittorrent is not configured"), 20, message="the not-configured status")
    assert status() == "qBittorrent is not configured: set its host on the Settings page; retrying in 1 seconds"
    assert not Job.objects.exists()


def test_unreachable_then_back_it_retries_and_processes(tmp_path, stash_env, processes, worker):
    port = free_port()
    qb = QBittorrent(tmp_path / "qbt", port)
    configure(qb, tmp_path / "library")
    proc = host(processes, stash_env)
    expected = f"qBittorrent is unreachable at http://127.0.0.1:{port}: connection refused; retrying in 1 seconds"
    wait_for(lambda: status() == expected, 20, message="the unreachable status")
    assert DaemonLog.objects.filter(daemon__name=NAME, level="ERROR", message__contains="unreachable").exists()
    try:
        qb.start()
        write(qb.downloads / "movie.mkv")
        movie = qb.add_local(qb.downloads / "movie.mkv", category="xxx")
        wait_for(lambda: qb.tags_of(movie) == {"synced"}, 30, message="the torrent to be processed")
        assert (tmp_path / "library" / "movie.mkv").exists()
        assert DaemonLog.objects.filter(daemon__name=NAME, message="qBittorrent answers again").exists()
        assert proc.poll() is None
    finally:
        qb.stop()


def test_rejected_credentials_are_reported_and_not_hammered(qb, tmp_path, stash_env, processes):
    configure(qb, tmp_path / "library", password="wrong")
    host(processes, stash_env)
    wait_for(lambda: "rejected the username or password" in status(), 20, message="the rejected status")
    wait_for(lambda: "Not logging in to qBittorrent before" in status(), 20, message="the back-off status")
    time.sleep(3)  # three more cycles
    assert QBittorrentLogin.objects.get().failures == 1
    assert not Job.objects.exists()
    qb.client()  # still allowed in: not banned


def test_it_never_starts_a_second_processing_job(qb, tmp_path, stash_env, processes):
    write(qb.downloads / "movie.mkv")
    qb.add_local(qb.downloads / "movie.mkv", category="xxx")
    configure(qb, tmp_path / "library")
    someone_elses = create_job("process_downloads", {})  # no worker: it stays pending
    host(processes, stash_env)
    wait_for(lambda: status() == "Waiting for download processing to complete", 20, message="the daemon to watch it")
    assert Daemon.objects.get(name=NAME).current_job_id == str(someone_elses.pk)
    time.sleep(1.5)
    assert Job.objects.filter(type="process_downloads").count() == 1


def test_files_placed_before_a_crash_are_still_scanned(qb, tmp_path, stash_env, processes, worker):
    library = tmp_path / "library"
    configure(qb, library)
    write(library / "Old" / "clip.mkv")
    HandledDownload.objects.create(
        torrent_hash="a" * 40,
        torrent_name="Old",
        relative_path="Old/clip.mkv",
        source_path="/elsewhere/Old/clip.mkv",
        destination_path=str(library / "Old" / "clip.mkv"),
        status=FileStatus.PLACED,
        method="hardlink",
    )
    host(processes, stash_env)
    scan = wait_for(lambda: Job.objects.filter(type="stash_scan").first(), 20, message="a scan of the leftover")
    assert scan.parameters["paths"] == [str(library / "Old")]
    wait_for(lambda: Job.objects.get(pk=scan.pk).status == "completed", 30, message="the scan")
    assert HandledDownload.objects.get().scan_job_id == scan.pk
