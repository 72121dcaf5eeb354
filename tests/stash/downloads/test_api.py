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
    client.force_authenticate(User.objects.create_user("downloads-api", password="correct-horse-battery"))
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
