"""What the live Downloads page receives: a torrent's whole article after each write of its files or
outcomes, the fragment the page renders, and the connect-time snapshot."""

import uuid

import pytest

from stash.downloads import live
from stash.downloads.models import FileStatus, HandledDownload, TorrentOutcome, TorrentOutcomeKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    sent = []
    monkeypatch.setattr(live, "publish", lambda groups, payload: sent.append((groups, payload)))
    return sent


def a_file(torrent_hash="a" * 40, path="Clip.mp4", status=FileStatus.PLACED, **fields) -> HandledDownload:
    return HandledDownload.objects.create(
        torrent_hash=torrent_hash,
        torrent_name="Holiday",
        relative_path=path,
        source_path=f"/dl/{path}",
        status=status,
        **fields,
    )


def test_a_handled_file_pushes_its_torrents_article(pushed, django_capture_on_commit_callbacks):
    job_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        a_file(destination_path="/library/Holiday/Clip.mp4", method="hardlink", job_id=job_id)
    [(groups, payload)] = pushed
    assert groups == "downloads"
    assert payload["torrent"] == {"hash": "a" * 40, "problem": False}
    article = payload["html"]["article"]
    assert article.strip().startswith(f'<article class="download-group" data-torrent="{"a" * 40}"')
    assert "/library/Holiday/Clip.mp4" in article and f'href="/jobs/{job_id}/"' in article


def test_a_failure_is_flagged_and_shows_its_reason(pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a_file(status=FileStatus.FAILED, error="The library is read-only")
        TorrentOutcome.objects.create(
            torrent_hash="a" * 40, torrent_name="Holiday", outcome=TorrentOutcomeKind.FAILED, reason="Read-only"
        )
    payload = pushed[-1][1]
    assert payload["torrent"]["problem"] is True
    assert "The library is read-only" in payload["html"]["article"] and "Failed" in payload["html"]["article"]


def test_the_article_is_what_the_page_renders(browser):
    a_file()
    html = browser.get("/downloads/").content.decode()
    [payload] = live.snapshot("downloads")
    assert payload["html"]["article"].strip() in html


def test_the_snapshot_lists_the_latest_torrents_oldest_first():
    a_file(torrent_hash="b" * 40)
    a_file(torrent_hash="c" * 40)
    assert [p["torrent"]["hash"] for p in live.snapshot("downloads")] == ["b" * 40, "c" * 40]
