"""Each health check against its real dependency, stopped and started: error, then ok again.

The checks run in-process (health.runner.run_check, each in its own thread with its deadline, as the
health loop runs them) against the emulator over HTTP, qbittorrent-nox, a private redis-server, real
folders (and a full tmpfs where mounting is allowed), and real `runjobs` / `rundaemon` processes."""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from django.utils import timezone

from health.models import CheckState, HealthCheck
from health.runner import run_check
from stash.connection.models import StashSettings
from stash.downloads.models import LinkMode, QBittorrentSettings
from stash.emulator.server import EmulatorServer
from tests.conftest import wait_for
from tests.orchestrator.test_redis_outage import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


def restart(emulator) -> None:
    """Start the emulator's HTTP server again on the same port (the same store: Stash came back)."""
    port = emulator.server.port
    emulator.server = EmulatorServer(emulator.store, port=port)
    emulator.server.start()


# --- Stash ---------------------------------------------------------------------------------------


def test_stash_check_fails_while_stash_is_down_and_recovers(stash_emulator):
    row = run_check("stash")
    assert row.state == CheckState.OK, row.reason
    assert "v0.30.1" in row.reason and row.details["round_trip_ms"] >= 0
    ok_at = row.last_ok_at

    stash_emulator.server.stop()
    row = run_check("stash")
    assert row.state == CheckState.ERROR
    assert "Cannot reach Stash" in row.reason and "Start Stash" in row.fix
    assert row.first_failed_at is not None and row.since == row.first_failed_at and row.last_ok_at == ok_at

    failed_at = row.first_failed_at
    assert run_check("stash").first_failed_at == failed_at  # the failure's start is kept while it lasts

    restart(stash_emulator)
    row = run_check("stash")
    assert row.state == CheckState.OK
    assert row.first_failed_at is None and row.last_ok_at > ok_at


def test_stash_check_says_the_api_key_is_refused(stash_emulator, settings):
    stash_emulator.store.api_key = "right-key-0123456789"
    row = run_check("stash")
    assert row.state == CheckState.ERROR and "API key" in row.reason
    settings.STASH_API_KEY = "right-key-0123456789"
    assert run_check("stash").state == CheckState.OK


# --- path mappings ---------------------------------------------------------------------------------


def test_path_mapping_check_names_the_failing_mapping(stash_emulator, tmp_path):
    stash_emulator.store.library_paths = ["/data/library"]
    row = run_check("path_mappings")
    assert row.state == CheckState.ERROR
    assert "/data/library does not exist on this machine and no path mapping covers it" in row.reason

    local = tmp_path / "library"
    local.mkdir()
    settings_row = StashSettings.load()
    settings_row.path_mappings = [{"local": str(local), "stash": "/data/library"}]
    settings_row.save()
    row = run_check("path_mappings")
    assert row.state == CheckState.OK, row.reason
    assert row.details["folders"] == [{"stash": "/data/library", "local": str(local)}]

    local.rmdir()  # the mount went away
    row = run_check("path_mappings")
    assert row.state == CheckState.ERROR
    assert f"/data/library maps to {local}, which does not exist" in row.reason

    local.mkdir()
    assert run_check("path_mappings").state == CheckState.OK


def test_path_mapping_check_spots_a_windows_path_without_mapping(stash_emulator):
    stash_emulator.store.library_paths = ["C:\\Media\\Videos"]
    row = run_check("path_mappings")
    assert row.state == CheckState.ERROR and "is a Windows path" in row.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder: a permission failure cannot be made")
def test_path_mapping_check_reports_a_permission_problem(stash_emulator, tmp_path):
    local = tmp_path / "locked"
    local.mkdir(mode=0)
    stash_emulator.store.library_paths = [str(local)]
    try:
        row = run_check("path_mappings")
    finally:
        local.chmod(0o755)
    assert row.state == CheckState.ERROR and "permission denied" in row.reason


# --- video analysis --------------------------------------------------------------------------------


class Answering:
    """Something that answers HTTP on a fixed port, to stop and start again (the tagger coming back)."""

    def __init__(self, port: int = 0):
        self.port = port
        self.server = None

    def start(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_video_analysis_check_follows_the_tagger(settings):
    tagger = Answering().start()
    settings.VIDEO_TAGGER_URL = tagger.url
    row = run_check("video_analysis")
    assert row.state == CheckState.OK and tagger.url in row.reason
    tagger.stop()
    row = run_check("video_analysis")
    assert row.state == CheckState.ERROR and "unreachable" in row.reason and "Start the tagger" in row.fix
    tagger.start()
    try:
        assert run_check("video_analysis").state == CheckState.OK
    finally:
        tagger.stop()


@pytest.mark.skipif(not shutil.which("ffprobe"), reason="ffmpeg is not installed")
def test_video_analysis_check_finds_ffprobe_and_ffmpeg_or_says_they_are_missing(settings):
    settings.VIDEO_TAGGER_URL = None
    row = run_check("video_analysis")
    assert row.state == CheckState.OK and row.details["ffprobe"] and row.details["ffmpeg"]
    settings.FFPROBE_BINARY = "/nonexistent/ffprobe"
    row = run_check("video_analysis")
    assert (
        row.state == CheckState.ERROR and "/nonexistent/ffprobe" in row.reason and "apt-get install ffmpeg" in row.fix
    )
    settings.FFPROBE_BINARY = "ffprobe"
    assert run_check("video_analysis").state == CheckState.OK


def test_a_hanging_dependency_costs_the_check_its_deadline_only(settings):
    """A tagger that accepts connections and never answers: the check gives up at its deadline."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    settings.VIDEO_TAGGER_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    started = time.monotonic()
    try:
        row = run_check("video_analysis", timeout=1.0)
        assert time.monotonic() - started < 4
        assert row.state == CheckState.ERROR and "No answer within 1 s" in row.reason
        # While that run still hangs, a second one does not pile up another thread.
        row = run_check("video_analysis", timeout=1.0)
        assert "still waiting" in row.reason
    finally:
        listener.close()


# --- library folder --------------------------------------------------------------------------------


def configure_library(path, **fields):
    row = QBittorrentSettings.load()
    row.library_path = str(path)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()


def test_library_check_fails_when_the_folder_is_removed(tmp_path, settings):
    settings.HEALTH_FREE_SPACE_WARNING_BYTES = 0
    settings.HEALTH_FREE_SPACE_WARNING_PERCENT = 0
    settings.HEALTH_FREE_SPACE_ERROR_PERCENT = 0
    library = tmp_path / "library"
    library.mkdir()
    configure_library(library)
    row = run_check("library")
    assert row.state == CheckState.OK and "writable" in row.reason and row.details["free_bytes"] > 0
    library.rmdir()
    row = run_check("library")
    assert row.state == CheckState.ERROR and "does not exist" in row.reason
    library.mkdir()
    assert run_check("library").state == CheckState.OK


def test_library_check_warns_under_the_free_space_threshold(tmp_path, settings):
    configure_library(tmp_path)
    settings.HEALTH_FREE_SPACE_WARNING_BYTES = 10**18  # more than any disk
    row = run_check("library")
    assert row.state == CheckState.WARNING and "running out of space" in row.reason


@pytest.fixture
def tmpfs(tmp_path):
    """A 4 MB tmpfs (skipped where mounting is not permitted)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_library_check_fails_on_a_full_disk_and_recovers_when_space_is_freed(tmpfs, settings):
    settings.HEALTH_FREE_SPACE_WARNING_BYTES = 0
    settings.HEALTH_FREE_SPACE_WARNING_PERCENT = 10
    configure_library(tmpfs)
    assert run_check("library").state == CheckState.OK
    filler = tmpfs / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    row = run_check("library")
    assert row.state == CheckState.ERROR
    assert "full" in row.reason
    filler.unlink()
    row = run_check("library")
    assert row.state == CheckState.OK, row.reason


# --- qBittorrent -----------------------------------------------------------------------------------


@pytest.fixture
def qbittorrent(tmp_path):
    from tests.conftest import free_port
    from tests.qbittorrent import BINARY, QBittorrent

    if not os.path.exists(BINARY):
        pytest.skip("qbittorrent-nox is not installed")
    qb = QBittorrent(tmp_path / "qb", free_port())
    qb.start()
    yield qb
    qb.stop()


def test_qbittorrent_check_follows_the_real_qbittorrent(qbittorrent, tmp_path):
    from tests.qbittorrent import configure

    library = tmp_path / "library"
    configure(qbittorrent, library)
    row = run_check("qbittorrent")
    assert row.state == CheckState.OK, row.reason
    assert row.details["download_folder"] == str(qbittorrent.downloads)
    assert "hard-linked" in row.reason  # the download folder and the library share a file system

    qbittorrent.stop()
    row = run_check("qbittorrent")
    assert row.state == CheckState.ERROR and "unreachable" in row.reason and "Start qBittorrent" in row.fix
    qbittorrent.start()
    assert run_check("qbittorrent").state == CheckState.OK


def test_qbittorrent_check_says_when_the_login_is_refused(qbittorrent, tmp_path):
    from tests.qbittorrent import configure

    configure(qbittorrent, tmp_path / "library", password="wrong-password")
    row = run_check("qbittorrent")
    assert row.state == CheckState.ERROR and "rejected the username or password" in row.reason


def test_qbittorrent_check_says_files_are_copied_across_file_systems(qbittorrent, tmpfs):
    from tests.qbittorrent import configure

    configure(qbittorrent, tmpfs, link_mode=LinkMode.HARDLINK)
    row = run_check("qbittorrent")
    assert row.state == CheckState.WARNING
    assert "different file systems" in row.reason and "copied" in row.reason and "more" in row.reason


# --- Redis ---------------------------------------------------------------------------------------


def test_redis_check_follows_a_private_redis_server(processes, settings):
    redis_server = OwnRedis(processes)
    redis_server.start()
    settings.REDIS_URL = redis_server.url
    row = run_check("redis")
    assert row.state == CheckState.OK and "live updates work" in row.reason
    redis_server.kill()
    row = run_check("redis")
    assert row.state == CheckState.ERROR and "does not answer" in row.reason
    redis_server.start()
    assert run_check("redis").state == CheckState.OK


# --- database ------------------------------------------------------------------------------------


def test_database_check_names_the_backend_and_fails_while_a_migration_is_unapplied():
    from django.db.migrations.recorder import MigrationRecorder

    row = run_check("database")
    assert row.state == CheckState.OK
    assert "every migration applied" in row.reason and row.details["backend"] in ("postgresql", "sqlite")
    # The database as it is after an upgrade without `migrate`: one migration's record is missing.
    recorded = MigrationRecorder.Migration.objects.get(app="health", name="0001_health_checks_and_notifications")
    recorded.delete()
    try:
        row = run_check("database")
        assert row.state == CheckState.ERROR and "1 unapplied migrations" in row.reason and "migrate" in row.fix
    finally:
        MigrationRecorder.Migration.objects.create(app=recorded.app, name=recorded.name, applied=recorded.applied)
    assert run_check("database").state == CheckState.OK


# --- workers, daemons, jobs ------------------------------------------------------------------------


def test_workers_check_follows_a_real_job_worker(processes):
    row = run_check("workers")
    assert row.state == CheckState.ERROR and "No job worker is running" in row.reason
    worker = processes.manage("runjobs", "--concurrency", "2")
    wait_for(lambda: run_check("workers").state == CheckState.OK, timeout=30, message="the worker's heartbeat")
    assert "2 slots" in HealthCheck.objects.get(name="workers").reason
    worker.terminate()
    worker.wait(timeout=20)
    assert run_check("workers").state == CheckState.ERROR
    processes.manage("runjobs")
    wait_for(lambda: run_check("workers").state == CheckState.OK, timeout=30, message="a new worker")


def test_daemons_check_fails_without_a_host_and_recovers_with_one(processes, daemon):
    from daemons import services

    services.start(daemon)
    row = run_check("daemons")
    assert row.state == CheckState.ERROR and "no host runs it" in row.reason and "rundaemon test" in row.reason
    host = processes.manage("rundaemon", "test")
    wait_for(lambda: run_check("daemons").state == CheckState.OK, timeout=30, message="the daemon's host")
    host.terminate()
    host.wait(timeout=20)
    assert run_check("daemons").state == CheckState.ERROR


def test_jobs_check_warns_about_a_job_far_past_its_usual_time():
    from jobs.models import Job, JobStatus

    now = timezone.now()
    for minutes in (1, 2):
        Job.objects.create(
            type="sync",
            status=JobStatus.COMPLETED,
            started_at=now - timezone.timedelta(hours=2, minutes=minutes),
            finished_at=now - timezone.timedelta(hours=2),
        )
    assert run_check("jobs").state == CheckState.OK
    late = Job.objects.create(
        type="sync",
        status=JobStatus.RUNNING,
        worker="w",
        heartbeat_at=now,
        started_at=now - timezone.timedelta(hours=1),
    )
    row = run_check("jobs")
    assert row.state == CheckState.WARNING
    assert str(late.pk)[:8] in row.reason and "has run for 60 min" in row.reason and "up to 2 min" in row.reason


def test_every_check_stores_a_row_and_none_raises(stash_emulator):
    from health.checks import REGISTRY

    for name in REGISTRY:
        row = run_check(name)
        assert row.state in (CheckState.OK, CheckState.WARNING, CheckState.ERROR)
        assert row.reason and row.last_run_at is not None
        assert "The check itself failed" not in row.reason, (name, row.reason)
    assert set(HealthCheck.objects.values_list("name", flat=True)) == set(REGISTRY)
