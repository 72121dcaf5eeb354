"""The process_downloads run against a real qBittorrent (qbittorrent-nox on loopback, a profile of the
test's own): which torrents it takes, where their files go, the tags it sets, idempotency across crashes
and reruns, and clear answers that change nothing when settings, qBittorrent or the library are wrong."""

import os
import shutil
import subprocess
import uuid

import pytest
from django.utils import timezone

from stash.downloads import login
from stash.downloads.errors import DownloadsError, LoginRefused, LoginRejected, NotConfigured, Unreachable
from stash.downloads.models import FileStatus, HandledDownload, QBittorrentLogin, TorrentOutcome
from stash.downloads.processing import pending_count, run
from tests.conftest import free_port
from tests.qbittorrent import QBittorrent, configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def qb(tmp_path):
    server = QBittorrent(tmp_path / "qbt", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def library(tmp_path):
    return tmp_path / "library"


def write(path, size=4096) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def process(**kwargs) -> dict:
    progress = []
    result = run(
        progress=lambda percent=None, message=None, **counts: progress.append((percent, message)),
        check_cancelled=lambda: None,
        job_id=kwargs.pop("job_id", uuid.uuid4()),
    )
    result["progress"] = progress
    return result


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def rows(torrent_hash) -> dict[str, HandledDownload]:
    return {row.relative_path: row for row in HandledDownload.objects.filter(torrent_hash=torrent_hash)}


def test_single_file_and_folder_torrents_are_linked_keeping_their_layout(qb, library):
    single = write(qb.downloads / "Single Movie.mkv")
    write(qb.downloads / "Show" / "S01" / "e01.mkv")
    write(qb.downloads / "Show" / "S01" / "e02.mkv")
    write(qb.downloads / "Show" / "show.nfo", 100)
    one = qb.add_local(qb.downloads / "Single Movie.mkv", category="xxx")
    show = qb.add_local(qb.downloads / "Show", category="xxx")
    configure(qb, library)

    assert pending_count() == 2
    result = process()

    assert files_under(library) == ["Show/S01/e01.mkv", "Show/S01/e02.mkv", "Show/show.nfo", "Single Movie.mkv"]
    assert os.path.samefile(library / "Single Movie.mkv", qb.downloads / "Single Movie.mkv")
    assert os.path.samefile(library / "Show" / "S01" / "e02.mkv", qb.downloads / "Show" / "S01" / "e02.mkv")
    assert (qb.downloads / "Single Movie.mkv").read_bytes() == single  # the source stays where it was
    assert qb.tags_of(one) == {"synced"} and qb.tags_of(show) == {"synced"}
    assert result["synced_items"] == 2 and result["failed_items"] == 0
    assert result["total_files_linked"] == 4
    assert {r.status for r in HandledDownload.objects.all()} == {FileStatus.PLACED}
    assert rows(show)["Show/S01/e01.mkv"].destination_path == str(library / "Show" / "S01" / "e01.mkv")
    messages = [m for _, m in result["progress"]]
    assert messages[:2] == ["Starting download processing job", "Fetching pending downloads..."]
    assert {m.split(": ", 1)[1] for m in messages[2:4]} == {"Show", "Single Movie.mkv"}
    assert [m.split(": ")[0] for m in messages[2:4]] == ["Processing torrent 1/2", "Processing torrent 2/2"]
    assert messages[4:] == ["Download processing complete"]
    assert pending_count() == 0


def test_other_categories_and_handled_or_failed_torrents_are_left_alone(qb, library):
    for name in ("movie.mkv", "done.mkv", "broken.mkv", "ours.mkv"):
        write(qb.downloads / name)
    other = qb.add_local(qb.downloads / "movie.mkv", category="movies")
    done = qb.add_local(qb.downloads / "done.mkv", category="xxx", tags="synced")
    broken = qb.add_local(qb.downloads / "broken.mkv", category="xxx", tags="error_syncing")
    ours = qb.add_local(qb.downloads / "ours.mkv", category="xxx")
    configure(qb, library)

    result = process()

    assert files_under(library) == ["ours.mkv"]
    assert result["total_items"] == 1
    assert qb.tags_of(other) == set()
    assert qb.tags_of(done) == {"synced"}
    assert qb.tags_of(broken) == {"error_syncing"}
    assert qb.tags_of(ours) == {"synced"}
    assert set(HandledDownload.objects.values_list("torrent_hash", flat=True)) == {ours}


def test_names_with_separators_or_dotdot_never_reach_outside_the_library(qb, library, tmp_path):
    write(qb.downloads / "Pack" / "a.mkv")
    write(qb.downloads / "Pack" / "sub" / "b.mkv")
    write(qb.downloads / "lone.mkv")
    pack = qb.add_local(qb.downloads / "Pack", category="xxx")
    lone = qb.add_local(qb.downloads / "lone.mkv", category="xxx")
    client = qb.client()
    # qBittorrent itself accepts these renames (and moves the files on disk to match).
    client.torrents_rename(torrent_hash=pack, new_torrent_name="../../evil/name")
    client.torrents_rename_folder(torrent_hash=pack, old_path="Pack", new_path="../escape")
    client.torrents_rename_file(torrent_hash=lone, old_path="lone.mkv", new_path="../../x/..\\lone.mkv")
    qb.wait_files(pack, "../escape/a.mkv")
    qb.wait_files(lone, "../../x/..\\lone.mkv")
    configure(qb, library)
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    result = process()

    # The renames moved the files out of the save path: they are no longer the torrent's to place
    # (tests/stash/downloads/test_source_confinement.py), and nothing is written outside the library.
    assert result["failed_items"] == 2, result
    assert files_under(library) == []
    created = sorted(set(str(p) for p in tmp_path.rglob("*")) - set(before))
    outside = [p for p in created if not p.startswith((str(library) + "/", str(qb.profile) + "/"))]
    assert outside == [], outside
    assert "outside the torrent's folder" in rows(pack)["../escape/a.mkv"].error
    assert rows(lone)["../../x/..\\lone.mkv"].status == FileStatus.FAILED


def test_a_file_already_at_the_destination_is_never_overwritten(qb, library):
    write(qb.downloads / "same.mkv")
    write(qb.downloads / "clash.mkv")
    library.mkdir()
    shutil.copy2(qb.downloads / "same.mkv", library / "same.mkv")  # e.g. placed by hand earlier
    (library / "clash.mkv").write_bytes(b"somebody else's file")
    same = qb.add_local(qb.downloads / "same.mkv", category="xxx")
    clash = qb.add_local(qb.downloads / "clash.mkv", category="xxx")
    configure(qb, library)

    result = process()

    assert rows(same)["same.mkv"].status == FileStatus.EXISTING
    assert qb.tags_of(same) == {"synced"}
    assert (library / "clash.mkv").read_bytes() == b"somebody else's file"
    assert rows(clash)["clash.mkv"].status == FileStatus.FAILED
    assert qb.tags_of(clash) == {"error_syncing"}
    outcome = TorrentOutcome.objects.get(torrent_hash=clash)
    assert outcome.outcome == "failed" and "A different file already exists" in outcome.reason
    assert result["failed_items"] == 1 and result["errors"][0]["torrent"] == "clash.mkv"
    assert (qb.downloads / "clash.mkv").exists()


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the run catches it."""


def test_a_crash_between_linking_and_tagging_is_finished_by_the_rerun(qb, library, monkeypatch):
    write(qb.downloads / "Show" / "e1.mkv")
    write(qb.downloads / "Show" / "e2.mkv")
    write(qb.downloads / "movie.mkv")
    show = qb.add_local(qb.downloads / "Show", category="xxx")
    movie = qb.add_local(qb.downloads / "movie.mkv", category="xxx")
    configure(qb, library)
    from stash.downloads import client

    def die(self, torrent_hash, tag):
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(client.QBittorrent, "add_tag", die)
        with pytest.raises(Crash):
            process()
    linked_before = files_under(library)
    assert linked_before == ["Show/e1.mkv", "Show/e2.mkv"]  # the first torrent's files, then the crash
    assert qb.tags_of(show) == set()

    # The crash also lost the second file's row after its link: the rerun finds it in place.
    HandledDownload.objects.filter(relative_path="Show/e2.mkv").delete()
    result = process()

    assert files_under(library) == ["Show/e1.mkv", "Show/e2.mkv", "movie.mkv"]
    assert qb.tags_of(show) == {"synced"} and qb.tags_of(movie) == {"synced"}
    assert rows(show)["Show/e1.mkv"].status == FileStatus.PLACED
    assert rows(show)["Show/e2.mkv"].status == FileStatus.EXISTING
    assert HandledDownload.objects.count() == 3
    assert result["total_files_linked"] == 1 and result["total_files_already_handled"] == 1
    assert (library / "Show" / "e1.mkv").stat().st_nlink == 2  # linked once, not twice


def test_qbittorrent_stopping_mid_run_stops_the_run_and_tags_nothing_wrongly(qb, library, monkeypatch):
    write(qb.downloads / "first.mkv")
    write(qb.downloads / "second.mkv")
    first = qb.add_local(qb.downloads / "first.mkv", category="xxx")
    second = qb.add_local(qb.downloads / "second.mkv", category="xxx")
    configure(qb, library)
    from stash.downloads import processing

    real = processing._handle_file

    def handle_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        qb.stop()  # qBittorrent goes away after the first file is linked, before its tag

    with monkeypatch.context() as patch:
        patch.setattr(processing, "_handle_file", handle_then_stop)
        with pytest.raises(Unreachable) as caught:
            process()
    assert "qBittorrent is unreachable" in str(caught.value)
    assert "stopped at torrent 1 of 2" in str(caught.value)
    outcome = TorrentOutcome.objects.get()
    assert outcome.outcome == "retry" and outcome.tagged == ""
    assert (qb.downloads / "first.mkv").exists() and (qb.downloads / "second.mkv").exists()

    qb.start().settle()
    assert qb.tags_of(first) == set() and qb.tags_of(second) == set()
    result = process()
    assert qb.tags_of(first) == {"synced"} and qb.tags_of(second) == {"synced"}
    assert files_under(library) == ["first.mkv", "second.mkv"]
    assert result["total_files_already_handled"] == 1 and result["total_files_linked"] == 1


def test_a_missing_content_path_tags_the_torrent_failed_with_the_reason(qb, library):
    write(qb.downloads / "vanished.mkv")
    vanished = qb.add_local(qb.downloads / "vanished.mkv", category="xxx")
    (qb.downloads / "vanished.mkv").unlink()
    configure(qb, library)

    result = process()

    assert qb.tags_of(vanished) == {"error_syncing"}
    outcome = TorrentOutcome.objects.get(torrent_hash=vanished)
    assert outcome.reason == f"Content path does not exist: {qb.downloads / 'vanished.mkv'}"
    assert result["errors"] == [{"torrent": "vanished.mkv", "hash": vanished, "error": outcome.reason}]
    assert files_under(library) == []


def test_wrong_credentials_change_nothing_and_are_not_retried_at_once(qb, library):
    write(qb.downloads / "movie.mkv")
    movie = qb.add_local(qb.downloads / "movie.mkv", category="xxx")
    configure(qb, library, password="not-the-password")

    with pytest.raises(LoginRejected, match="rejected the username or password"):
        process()
    # The next runs do not even ask: the same credentials were just rejected.
    for _ in range(6):
        with pytest.raises(LoginRefused, match="Not logging in to qBittorrent before"):
            process()
    assert QBittorrentLogin.objects.get().failures == 1
    assert qb.tags_of(movie) == set()  # (our test client's correct login still works: not banned)
    assert HandledDownload.objects.count() == 0 and files_under(library) == []

    configure(qb, library, password=qb.password)  # corrected: tried at once
    process()
    assert qb.tags_of(movie) == {"synced"}
    assert QBittorrentLogin.objects.get().failures == 0


def test_logins_stop_before_qbittorrent_would_ban_us(qb, library, time_machine):
    configure(qb, library, password="wrong")
    time_machine.move_to(timezone.now(), tick=True)
    for _ in range(10):
        time_machine.shift(3 * 3600)  # every back-off has run out
        with pytest.raises(DownloadsError):
            process()
    assert QBittorrentLogin.objects.get().failures == login.MAX_FAILED_LOGINS < login.QBITTORRENT_BANS_AFTER
    with pytest.raises(LoginRefused, match="confirm there that qBittorrent's count was reset"):
        process()
    qb.client()  # qBittorrent still lets this address in: never banned


def test_an_unreachable_host_is_named_in_the_error(library, tmp_path):
    port = free_port()
    configure(QBittorrent(tmp_path / "down", port), library)
    with pytest.raises(Unreachable) as caught:
        process()
    assert str(caught.value) == f"qBittorrent is unreachable at http://127.0.0.1:{port}: connection refused"
    assert QBittorrentLogin.objects.filter(failures__gt=0).count() == 0  # not a failed login


def test_not_configured_says_so():
    with pytest.raises(NotConfigured, match="qBittorrent is not configured"):
        process()


def test_a_full_library_leaves_torrents_untagged_with_the_reason(qb, tmp_path):
    library = tmp_path / "small"
    library.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(library)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        write(qb.downloads / "big.mkv", 512 * 1024)
        big = qb.add_local(qb.downloads / "big.mkv", category="xxx")
        configure(qb, library)
        result = process()
        assert qb.tags_of(big) == set()  # not handled, not failed: tried again once there is room
        outcome = TorrentOutcome.objects.get(torrent_hash=big)
        assert outcome.outcome == "retry" and "No space left on device" in outcome.reason
        assert result["retry_items"] == 1 and result["synced_items"] == 0
        assert list(library.iterdir()) == []
        assert (qb.downloads / "big.mkv").stat().st_size == 512 * 1024

        subprocess.run(["mount", "-o", "remount,size=2m,ro", str(library)], check=True)
        process()
        assert "Read-only file system" in TorrentOutcome.objects.order_by("-id").first().reason
        assert qb.tags_of(big) == set()

        subprocess.run(["mount", "-o", "remount,rw", str(library)], check=True)
        process()
        assert qb.tags_of(big) == {"synced"}
        assert rows(big)["big.mkv"].method == "copy"  # another file system: copied, source kept
        assert (qb.downloads / "big.mkv").exists()
    finally:
        subprocess.run(["umount", str(library)], check=False)


def test_copy_mode_copies(qb, library):
    write(qb.downloads / "movie.mkv")
    qb.add_local(qb.downloads / "movie.mkv", category="xxx")
    configure(qb, library, link_mode="copy")
    result = process()
    assert result["total_files_copied"] == 1 and result["total_files_linked"] == 0
    assert not os.path.samefile(library / "movie.mkv", qb.downloads / "movie.mkv")


@pytest.mark.skipif(not shutil.which("ffmpeg") or not shutil.which("ffprobe"), reason="needs ffmpeg and ffprobe")
def test_videos_shorter_than_the_minimum_are_not_placed(qb, library):
    folder = qb.downloads / "Clips"
    folder.mkdir()
    for name, seconds in (("short.mp4", 1), ("long.mp4", 3)):
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=duration={seconds}:size=64x48:rate=5",
                str(folder / name),
            ],
            check=True,
        )
    (folder / "notes.txt").write_text("not a video")
    clips = qb.add_local(folder, category="xxx")
    configure(qb, library, min_video_seconds=2)

    result = process()

    assert files_under(library) == ["Clips/long.mp4", "Clips/notes.txt"]
    assert rows(clips)["Clips/short.mp4"].status == FileStatus.SKIPPED
    assert "shorter than the minimum of 2 s" in rows(clips)["Clips/short.mp4"].error
    assert result["total_files_under_duration"] == 1
    assert qb.tags_of(clips) == {"synced"}


class Cancelled(Exception):
    pass


def test_cancelling_between_torrents_leaves_the_rest_untouched(qb, library):
    write(qb.downloads / "a.mkv")
    write(qb.downloads / "b.mkv")
    hashes = [
        qb.add_local(qb.downloads / "a.mkv", category="xxx"),
        qb.add_local(qb.downloads / "b.mkv", category="xxx"),
    ]
    configure(qb, library)
    checks = []

    def check_cancelled():
        checks.append(1)
        if len(checks) > 2:  # the first torrent and its one file went through
            raise Cancelled

    with pytest.raises(Cancelled):
        run(progress=lambda *a, **k: None, check_cancelled=check_cancelled, job_id=uuid.uuid4())
    tags = sorted(len(qb.tags_of(h)) for h in hashes)
    assert tags == [0, 1]  # one handled, the other not touched at all
    assert len(files_under(library)) == 1
    assert TorrentOutcome.objects.count() == 1
