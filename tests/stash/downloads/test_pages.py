"""The qBittorrent settings page (and admin), the Downloads page and its "Process now" button: validated
input, a password that is kept but never shown, logins checked against a real qBittorrent, and bad input
that gets a clear answer and changes nothing."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import Job
from jobs.services import create_job
from stash.connection.models import StashSettings
from stash.downloads import login
from stash.downloads.models import FileStatus, HandledDownload, QBittorrentLogin, QBittorrentSettings, TorrentOutcome
from tests.conftest import free_port
from tests.qbittorrent import QBittorrent, configure

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/settings/qbittorrent/"


@pytest.fixture
def client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(user):
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def qb(tmp_path):
    server = QBittorrent(tmp_path / "qbt", free_port()).start()
    yield server
    server.stop()


def form_data(qb, library, **overrides) -> dict:
    data = {
        "host": qb.host,
        "port": str(qb.port),
        "username": qb.username,
        "password": qb.password,
        "category": "xxx",
        "handled_tag": "synced",
        "failed_tag": "error_syncing",
        "library_path": str(library),
        "library_stash_path": "",
        "link_mode": "hardlink",
        "min_video_seconds": "0",
    }
    data.update(overrides)
    return data


def test_saving_logs_in_first_and_the_password_is_never_shown(client, qb, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    response = client.post(SETTINGS_URL, form_data(qb, library), follow=True)
    assert response.status_code == 200
    assert "logged in to qBittorrent v4" in response.text
    row = QBittorrentSettings.load()
    assert (row.host, row.port, row.password, row.library_path) == ("127.0.0.1", qb.port, qb.password, str(library))
    page = client.get(SETTINGS_URL).text
    assert qb.password not in page
    assert "(stored)" in page
    # An empty password keeps the stored one.
    client.post(SETTINGS_URL, form_data(qb, library, password="", category="movies"))
    row.refresh_from_db()
    assert (row.password, row.category) == (qb.password, "movies")


def test_a_rejected_password_saves_nothing(client, qb, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    response = client.post(SETTINGS_URL, form_data(qb, library, password="wrong"))
    assert response.status_code == 400
    assert "rejected the username or password. Nothing was saved." in response.text
    assert not QBittorrentSettings.objects.exists()
    assert "wrong" not in response.text
    assert QBittorrentLogin.objects.get().failures == 1


def test_an_unreachable_qbittorrent_is_saved_with_a_warning(client, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    down = QBittorrent(tmp_path / "down", free_port())
    response = client.post(SETTINGS_URL, form_data(down, library), follow=True)
    assert response.status_code == 200
    assert "Saved, but qBittorrent could not be checked: qBittorrent is unreachable at" in response.text
    assert QBittorrentSettings.load().port == down.port


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", "70000", "from 1 to 65535"),
        ("host", "http://qb.lan:8080", "Put the port in the Port field"),
        ("host", "ftp://qb.lan", "Only http:// and https://"),
        ("host", "qb lan", "Enter a host name or IP address"),
        ("handled_tag", "a,b", "cannot contain a comma"),
        ("failed_tag", "synced", "must differ from the handled tag"),
        ("category", "  ", "This field is required"),
        ("library_path", "relative/path", "must be an absolute path"),
        ("library_path", "/does/not/exist", "does not exist on this machine"),
        ("library_stash_path", "data", "must be an absolute path"),
        ("min_video_seconds", "-1", ""),
    ],
)
def test_invalid_settings_are_refused_with_the_reason(client, tmp_path, field, value, message):
    library = tmp_path / "library"
    library.mkdir()
    down = QBittorrent(tmp_path / "down", free_port())
    response = client.post(SETTINGS_URL, form_data(down, library, **{field: value}))
    assert response.status_code == 400
    assert message in response.text
    assert not QBittorrentSettings.objects.exists()


def test_the_stash_view_of_the_library_must_agree_with_the_stash_path_mappings(client, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    StashSettings.objects.create(path_mappings=[{"local": str(tmp_path), "stash": "/data"}])
    down = QBittorrent(tmp_path / "down", free_port())
    response = client.post(SETTINGS_URL, form_data(down, library, library_stash_path="/elsewhere"))
    assert response.status_code == 400
    assert "already translate" in response.text and "/data/library" in response.text
    response = client.post(SETTINGS_URL, form_data(down, library, library_stash_path="/data/library"), follow=True)
    assert response.status_code == 200
    assert "Stash sees it as <code>/data/library</code>" in response.text


def test_the_test_button_reports_and_saves_nothing(client, qb, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (qb.downloads / "movie.mkv").write_bytes(b"x" * 1000)
    qb.add_local(qb.downloads / "movie.mkv", category="xxx")
    response = client.post("/settings/qbittorrent/test/", form_data(qb, library))
    assert response.status_code == 200
    assert "Connected to" in response.text and "1 finished torrent of this category waits" in response.text
    assert not QBittorrentSettings.objects.exists()


def test_after_too_many_rejections_a_person_must_confirm_the_reset(client, qb, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for _ in range(login.MAX_FAILED_LOGINS):
        client.post(SETTINGS_URL, form_data(qb, library, password="wrong"))
    response = client.post(SETTINGS_URL, form_data(qb, library))
    assert response.status_code == 400
    assert "Not logging in to qBittorrent" in response.text
    assert "count was reset" in response.text
    response = client.post(SETTINGS_URL, form_data(qb, library, reset_login_failures="on"), follow=True)
    assert response.status_code == 200 and "logged in to qBittorrent" in response.text
    assert QBittorrentLogin.objects.get().failures == 0


def test_the_admin_uses_the_same_form_and_hides_the_password(admin_client, qb, tmp_path):
    configure(qb, tmp_path / "library")
    page = admin_client.get(reverse("admin:stash_qbittorrentsettings_change", args=[1])).text
    assert qb.password not in page
    assert "Leave empty to keep the stored one" in page
    assert admin_client.get("/admin/stash/handleddownload/").status_code == 200
    assert admin_client.get("/admin/stash/torrentoutcome/").status_code == 200


def seed_history(tmp_path):
    job_a, job_b = uuid.uuid4(), uuid.uuid4()
    HandledDownload.objects.create(
        torrent_hash="a" * 40,
        torrent_name="Good Show",
        relative_path="Good Show/e1.mkv",
        source_path="/dl/Good Show/e1.mkv",
        destination_path=str(tmp_path / "library" / "Good Show" / "e1.mkv"),
        status=FileStatus.PLACED,
        method="hardlink",
        job_id=job_a,
    )
    TorrentOutcome.objects.create(job_id=job_a, torrent_hash="a" * 40, torrent_name="Good Show", outcome="handled")
    HandledDownload.objects.create(
        torrent_hash="b" * 40,
        torrent_name="Clash",
        relative_path="clash.mkv",
        source_path="/dl/clash.mkv",
        status=FileStatus.FAILED,
        error="A different file already exists at /lib/clash.mkv; it was left as it is",
        job_id=job_b,
    )
    TorrentOutcome.objects.create(
        job_id=job_b,
        torrent_hash="b" * 40,
        torrent_name="Clash",
        outcome="failed",
        reason="A different file already exists at /lib/clash.mkv; it was left as it is",
        tagged="error_syncing",
    )
    return job_a, job_b


def test_the_downloads_page_groups_by_torrent_and_by_job_with_destinations_and_reasons(client, tmp_path):
    job_a, job_b = seed_history(tmp_path)
    page = client.get("/downloads/").text
    assert "Good Show" in page and str(tmp_path / "library" / "Good Show" / "e1.mkv") in page
    assert "A different file already exists at /lib/clash.mkv" in page
    assert page.index("Clash") < page.index("Good Show")  # latest first
    by_job = client.get("/downloads/?group=job").text
    assert f'data-job="{job_a}"' in by_job and f'data-job="{job_b}"' in by_job
    assert f"/jobs/{job_a}/" in by_job
    failures = client.get("/downloads/?problems=1").text
    assert "Clash" in failures and "Good Show" not in failures
    assert 'href="/downloads/"' in client.get("/jobs/").text  # the nav link


def test_process_now_starts_one_job_and_never_a_second(client, qb, tmp_path):
    configure(qb, tmp_path / "library")
    response = client.post("/downloads/process/")
    job = Job.objects.get(type="process_downloads")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.parameters == {"scan": True}
    response = client.post("/downloads/process/", follow=True)
    assert "already under way" in response.text
    assert Job.objects.filter(type="process_downloads").count() == 1


def test_process_now_without_settings_starts_nothing(client):
    response = client.post("/downloads/process/", follow=True)
    assert "Nothing was started. qBittorrent is not configured" in response.text
    assert not Job.objects.exists()
    assert client.get("/downloads/process/").status_code == 405


def test_process_now_ends_with_a_scan_of_the_new_folders(qb, tmp_path, monkeypatch):
    """The job's own scan (what "Process now" gets), run in-process: a stash_scan child of the job."""
    from jobs.context import JobContext
    from jobs.types.process_downloads import KIND

    library = tmp_path / "library"
    configure(qb, library)
    (qb.downloads / "Pack").mkdir()
    (qb.downloads / "Pack" / "a.mkv").write_bytes(b"a" * 1000)
    qb.add_local(qb.downloads / "Pack", category="xxx")
    job = create_job("process_downloads", {})
    Job.objects.filter(pk=job.pk).update(status="running")  # as a worker's claim leaves it
    job.refresh_from_db()
    result = KIND.handler(JobContext(job), job.parameters)
    scan = Job.objects.get(type="stash_scan")
    assert scan.parent_id == job.pk
    assert scan.parameters["paths"] == [str(library / "Pack")]
    assert result["scan_job_id"] == str(scan.pk) and result["scan_paths"] == [str(library / "Pack")]
    assert HandledDownload.objects.get().scan_job_id == scan.pk
