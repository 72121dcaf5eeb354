"""The downloads API: files with their status filters, one file with its torrent's outcomes, bad input."""

import uuid

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from stash.downloads.models import FileStatus, HandledDownload, TorrentOutcome, TorrentOutcomeKind

pytestmark = pytest.mark.django_db
JOB = uuid.uuid4()


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(
        User.objects.create_user("downloads-api", password="correct-horse-battery", is_staff=True)
    )
    return client


@pytest.fixture
def files():
    def row(name, status, **fields):
        return HandledDownload.objects.create(
            torrent_hash="ab" * 20,
            torrent_name="Holiday",
            relative_path=name,
            source_path=f"/dl/{name}",
            status=status,
            **fields,
        )

    placed = row("a.mp4", FileStatus.PLACED, destination_path="/lib/a.mp4", method="hardlink", job_id=JOB)
    failed = row("b.mp4", FileStatus.FAILED, error="No space left on device")
    TorrentOutcome.objects.create(
        job_id=JOB,
        torrent_hash="ab" * 20,
        torrent_name="Holiday",
        outcome=TorrentOutcomeKind.FAILED,
        reason="1 file failed",
        files_placed=1,
        files_failed=1,
    )
    return placed, failed


def test_the_list_filters_by_status_torrent_and_job(api, files):
    placed, failed = files
    every = api.get("/api/downloads/").json()
    assert every["count"] == 2
    assert [r["id"] for r in api.get("/api/downloads/?status=failed").json()["results"]] == [failed.pk]
    assert [r["id"] for r in api.get(f"/api/downloads/?job_id={JOB}").json()["results"]] == [placed.pk]
    assert api.get(f"/api/downloads/?torrent_hash={'AB' * 20}").json()["count"] == 2
    assert api.get("/api/downloads/?torrent_hash=other").json()["count"] == 0


def test_the_detail_shows_the_file_and_its_torrents_outcomes(api, files):
    placed, _ = files
    body = api.get(f"/api/downloads/{placed.pk}/").json()
    assert body["destination_path"] == "/lib/a.mp4" and body["method"] == "hardlink"
    assert body["job_url"] == f"/jobs/{JOB}/"
    assert body["torrent_outcomes"][0]["outcome"] == "failed"
    assert body["torrent_outcomes"][0]["files_failed"] == 1


@pytest.mark.parametrize("query", ["status=lost", "job_id=not-a-uuid"])
def test_a_filter_it_cannot_read_is_a_400(api, files, query):
    response = api.get(f"/api/downloads/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_unknown_ids_are_json_404s_and_anonymous_is_refused(api, files):
    assert api.get("/api/downloads/99999/").status_code == 404
    assert api.get("/api/downloads/x/").json() == {"detail": "No such download file."}
    assert APIClient().get("/api/downloads/").status_code == 401


# --- the qBittorrent settings API ---------------------------------------------------------------------


def test_qbittorrent_settings_read_without_the_password(api):
    from stash.downloads.models import QBittorrentSettings

    row = QBittorrentSettings.load()
    row.password = "s3cret-pass"
    row.save()
    body = api.get("/api/settings/qbittorrent/").json()
    assert body["password_set"] is True and "password" not in body
    assert "s3cret-pass" not in api.get("/api/settings/qbittorrent/").content.decode()
    assert body["port"] == 8080 and body["link_mode"] == "hardlink"


def test_qbittorrent_settings_change_what_is_sent_and_nothing_else(api, tmp_path):
    from stash.downloads.models import QBittorrentSettings

    response = api.patch(
        "/api/settings/qbittorrent/", {"category": "films", "library_path": str(tmp_path)}, format="json"
    )
    assert response.status_code == 200, response.content
    row = QBittorrentSettings.load()
    assert (row.category, row.library_path, row.handled_tag) == ("films", str(tmp_path), "synced")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"categroy": "x"}, "categroy"),
        ({"port": "8080"}, "port"),
        ({"port": True}, "port"),
        ({"category": 5}, "category"),
        ({"password": ""}, "password"),
        ({"library_path": "/no/such/folder/here"}, "library_path"),
        ({"port": 70000}, "port"),
    ],
)
def test_bad_qbittorrent_settings_are_a_400_and_change_nothing(api, body, field):
    from stash.downloads.models import QBittorrentSettings

    before = QBittorrentSettings.load().updated_at
    response = api.patch("/api/settings/qbittorrent/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert QBittorrentSettings.load().updated_at == before


def test_qbittorrent_settings_need_a_login():
    assert APIClient().get("/api/settings/qbittorrent/").status_code == 401
