"""Where process_downloads may read from: only files inside the torrent's own save path (and content
path), never through a symbolic link; each refusal is recorded on the file's row with its reason, and a
name the file system cannot even look up fails that one file, not the whole run (issue 14, items 3 and 4).

Real qbittorrent-nox throughout; what it cannot be made to report (absolute names, components longer
than the file system allows) is fed in by wrapping the client's file listing, with real files on disk."""

import os

import pytest

from stash.downloads.client import QBittorrent as Client
from stash.downloads.client import TorrentFile
from stash.downloads.models import FileStatus, TorrentOutcome
from tests.conftest import free_port
from tests.qbittorrent import QBittorrent, configure
from tests.stash.downloads.test_processing import files_under, process, rows, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def qb(tmp_path):
    server = QBittorrent(tmp_path / "qbt", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def library(tmp_path):
    return tmp_path / "library"


def report_names(monkeypatch, torrent_hash: str, names: list[str]):
    """qBittorrent's file listing for one torrent, replaced by `names` (the rest is real). Give the
    torrent two real files, so that its content path is its folder as with any multi-file torrent."""
    real_files = Client.files

    def files(self, wanted):
        if wanted != torrent_hash:
            return real_files(self, wanted)
        return [TorrentFile(name=name, size=1, priority=1, progress=1.0) for name in names]

    monkeypatch.setattr(Client, "files", files)


def test_a_file_renamed_out_of_the_save_path_is_refused_and_recorded(qb, library, tmp_path):
    write(qb.downloads / "F2" / "a.mkv")
    write(qb.downloads / "F2" / "b.mkv")
    pack = qb.add_local(qb.downloads / "F2", category="xxx")
    # Real qBittorrent accepts this, moves the file out of its save path and reports it as "../ESC.mkv".
    qb.client().torrents_rename_file(torrent_hash=pack, old_path="F2/a.mkv", new_path="F2/../../ESC.mkv")
    qb.wait_files(pack, "../ESC.mkv")
    configure(qb, library)

    result = process()

    assert files_under(library) == ["F2/b.mkv"]  # its layout kept, as if the refused name were not there
    refused = rows(pack)["../ESC.mkv"]
    assert refused.status == FileStatus.FAILED
    assert "outside the torrent's folder" in refused.error and refused.destination_path == ""
    assert qb.tags_of(pack) == {"error_syncing"}
    assert "outside the torrent's folder" in TorrentOutcome.objects.get(torrent_hash=pack).reason
    assert result["failed_items"] == 1 and result["total_files_failed"] == 1


def test_a_symbolic_link_in_the_torrent_is_refused(qb, library, tmp_path):
    secret = tmp_path / "secret.mkv"
    secret.write_bytes(b"not the torrent's")
    write(qb.downloads / "F3" / "real.mkv")
    os.symlink(secret, qb.downloads / "F3" / "link.mkv")
    torrent = qb.add_local(qb.downloads / "F3", category="xxx")
    configure(qb, library)

    process()

    assert files_under(library) == ["F3/real.mkv"]
    assert rows(torrent)["F3/link.mkv"].status == FileStatus.FAILED
    assert "symbolic link" in rows(torrent)["F3/link.mkv"].error
    assert qb.tags_of(torrent) == {"error_syncing"}


def test_a_folder_inside_the_torrent_that_links_elsewhere_is_refused(qb, library, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    write(outside / "x.mkv")
    write(qb.downloads / "F4" / "ok.mkv")
    write(qb.downloads / "F4" / "extra.nfo", 10)  # two files: the content path is the folder
    torrent = qb.add_local(qb.downloads / "F4", category="xxx")
    os.symlink(outside, qb.downloads / "F4" / "sub")  # after adding: qBittorrent never saw it
    report_names(monkeypatch, torrent, ["F4/ok.mkv", "F4/sub/x.mkv"])
    configure(qb, library)

    process()

    assert files_under(library) == ["F4/ok.mkv"]
    assert "symbolic link" in rows(torrent)["F4/sub/x.mkv"].error


@pytest.mark.parametrize("name", ["/etc/hostname", "../../../../../../../../etc/hostname", "F5/../../../x.mkv"])
def test_absolute_and_escaping_names_never_reach_outside_the_torrent(qb, library, tmp_path, monkeypatch, name):
    write(tmp_path / "x.mkv")
    write(qb.downloads / "F5" / "ok.mkv")
    write(qb.downloads / "F5" / "extra.nfo", 10)  # two files: the content path is the folder
    torrent = qb.add_local(qb.downloads / "F5", category="xxx")
    report_names(monkeypatch, torrent, ["F5/ok.mkv", name])
    configure(qb, library)

    process()

    assert files_under(library) == ["F5/ok.mkv"]
    row = rows(torrent)[name]
    assert row.status == FileStatus.FAILED and row.error
    assert qb.tags_of(torrent) == {"error_syncing"}


def test_a_name_too_long_for_the_file_system_fails_that_file_and_the_run_goes_on(qb, library, monkeypatch):
    write(qb.downloads / "F7" / "first.mkv")
    write(qb.downloads / "second.mkv")
    write(qb.downloads / "F7" / "extra.nfo", 10)  # two files: the content path is the folder
    first = qb.add_local(qb.downloads / "F7", category="xxx")
    second = qb.add_local(qb.downloads / "second.mkv", category="xxx")
    long_name = "F7/" + "L" * 300 + ".mkv"  # one component over the 255-byte limit: stat() raises ENAMETOOLONG
    report_names(monkeypatch, first, [long_name])
    configure(qb, library)

    result = process()

    assert "File name too long" in rows(first)[long_name].error
    assert qb.tags_of(first) == {"error_syncing"}
    assert qb.tags_of(second) == {"synced"}
    assert files_under(library) == ["second.mkv"]
    assert result["synced_items"] == 1 and result["failed_items"] == 1


@pytest.mark.parametrize("mode", ["hardlink", "copy"])
def test_a_255_byte_name_is_placed(qb, library, monkeypatch, mode):
    name = "F6/" + "L" * 251 + ".mkv"  # the longest name the file system allows
    write(qb.downloads / "F6" / "short.mkv")
    write(qb.downloads / "F6" / "extra.nfo", 10)  # two files: the content path is the folder
    torrent = qb.add_local(qb.downloads / "F6", category="xxx")
    os.link(qb.downloads / "F6" / "short.mkv", qb.downloads / name)  # qBittorrent cannot complete such a name
    report_names(monkeypatch, torrent, [name])
    configure(qb, library, link_mode=mode)

    process()

    assert rows(torrent)[name].status == FileStatus.PLACED, rows(torrent)[name].error
    assert files_under(library) == [name]
