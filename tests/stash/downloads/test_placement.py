"""Placing a torrent's files in the library: safe destinations, hard links or copies, never overwriting,
never touching the source; and the library on another, full or read-only file system (real tmpfs mounts
when the machine allows them)."""

import errno
import os
import subprocess

import pytest

from stash.downloads.placement import (
    PARTIAL_MARKER,
    PlacementError,
    destination_parts,
    needs_torrent_folder,
    place,
    safe_components,
)


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    return folder


@pytest.fixture
def source(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    path = downloads / "movie.mkv"
    path.write_bytes(os.urandom(4096))
    return path


class Mount:
    """A tmpfs of its own (another file system than the downloads), unmounted at teardown."""

    def __init__(self, path):
        self.path = path

    def mount(self, *options: str):
        self.path.mkdir(exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(self.path)], capture_output=True
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        self.mounted = True
        return self.path

    def remount(self, *options: str):
        subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(self.path)], check=True)


@pytest.fixture
def tmpfs(tmp_path):
    mount = Mount(tmp_path / "tmpfs")
    yield mount
    if getattr(mount, "mounted", False):
        subprocess.run(["umount", str(mount.path)], check=False)


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Show/S01/e1.mkv", ["Show", "S01", "e1.mkv"]),
        ("../../etc/passwd", ["etc", "passwd"]),
        ("/absolute/file.mkv", ["absolute", "file.mkv"]),
        ("a\\..\\..\\b.mkv", ["a", "b.mkv"]),
        ("./x/./y.mkv", ["x", "y.mkv"]),
        ("bad\0name.mkv", ["badname.mkv"]),
    ],
)
def test_names_from_torrents_lose_every_part_that_could_leave_the_library(name, expected):
    assert safe_components(name) == expected


def test_a_name_with_nothing_safe_left_is_refused():
    with pytest.raises(PlacementError, match="nothing left"):
        destination_parts("../..", "t", "abc", add_torrent_folder=False)


def test_files_without_a_common_folder_get_one_named_after_the_torrent():
    assert needs_torrent_folder(["a.mkv", "b.mkv"])
    assert needs_torrent_folder(["Show/a.mkv", "b.mkv"])
    assert not needs_torrent_folder(["Show/a.mkv", "Show/sub/b.mkv"])
    assert not needs_torrent_folder(["single.mkv"])
    assert destination_parts("a.mkv", "../My Torrent", "abc", add_torrent_folder=True) == ["My Torrent", "a.mkv"]
    assert destination_parts("a.mkv", "..", "abc", add_torrent_folder=True) == ["abc", "a.mkv"]


def test_a_hard_link_keeps_the_source_and_shares_its_inode(source, library):
    placed = place(source, library, ["Movie", "movie.mkv"], mode="hardlink")
    assert placed.method == "hardlink"
    assert placed.destination == library / "Movie" / "movie.mkv"
    assert os.path.samefile(source, placed.destination)
    assert source.exists() and source.stat().st_nlink == 2


def test_copy_mode_makes_an_independent_copy_and_leaves_no_partial_file(source, library):
    placed = place(source, library, ["movie.mkv"], mode="copy")
    assert placed.method == "copy"
    assert not os.path.samefile(source, placed.destination)
    assert placed.destination.read_bytes() == source.read_bytes()
    assert files_under(library) == ["movie.mkv"]


def test_the_same_file_already_in_place_counts_as_placed(source, library):
    place(source, library, ["movie.mkv"], mode="hardlink")
    again = place(source, library, ["movie.mkv"], mode="hardlink")
    assert again.method == "existing"
    (library / "copy.mkv").write_bytes(source.read_bytes())
    assert place(source, library, ["copy.mkv"], mode="copy").method == "existing"


def test_a_different_file_at_the_destination_is_reported_and_kept(source, library):
    (library / "movie.mkv").write_bytes(b"the user's own file")
    with pytest.raises(PlacementError, match="A different file already exists") as caught:
        place(source, library, ["movie.mkv"], mode="hardlink")
    assert not caught.value.library_problem
    assert (library / "movie.mkv").read_bytes() == b"the user's own file"


def test_a_symlinked_folder_inside_the_library_is_not_followed(source, library, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (library / "Movie").symlink_to(outside)
    with pytest.raises(PlacementError, match="symbolic link"):
        place(source, library, ["Movie", "movie.mkv"], mode="hardlink")
    assert list(outside.iterdir()) == []


def test_a_missing_source_is_reported_and_nothing_is_created(tmp_path, library):
    with pytest.raises(PlacementError, match="Source file does not exist"):
        place(tmp_path / "gone.mkv", library, ["Show", "gone.mkv"], mode="hardlink")
    assert files_under(library) == []


@pytest.mark.parametrize("mode", ["hardlink", "copy"])
def test_a_source_swapped_for_a_symlink_after_its_check_is_refused(source, library, tmp_path, mode):
    # The race confined_source() alone leaves open: checked as a real file, then replaced by a link to a
    # file outside the torrent before the placement reads it.
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the library")
    source.unlink()
    source.symlink_to(secret)
    with pytest.raises(PlacementError, match="symbolic link"):
        place(source, library, ["movie.mkv"], mode=mode)
    assert files_under(library) == []


@pytest.mark.parametrize("mode", ["hardlink", "copy"])
def test_a_folder_swapped_for_a_symlink_after_the_check_is_refused(source, library, tmp_path, mode):
    # A folder on the way replaced by a link to a folder elsewhere that holds a file of the same name: the
    # file opened is not the checked path, whatever its name says.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "movie.mkv").write_text("someone else's file")
    downloads = source.parent
    downloads.rename(tmp_path / "moved-away")
    downloads.symlink_to(elsewhere)
    with pytest.raises(PlacementError, match="changed while it was placed"):
        place(source, library, ["movie.mkv"], mode=mode)
    assert files_under(library) == []


def test_a_fifo_is_not_placed(tmp_path, library):
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)
    with pytest.raises(PlacementError, match="not a regular file"):
        place(fifo, library, ["pipe.mkv"], mode="copy")
    assert files_under(library) == []


def test_across_file_systems_a_hard_link_becomes_a_copy(source, tmpfs):
    library = tmpfs.mount("size=1m")
    placed = place(source, library, ["Movie", "movie.mkv"], mode="hardlink")
    assert placed.method == "copy"
    assert placed.destination.read_bytes() == source.read_bytes()


def test_a_full_library_is_a_library_problem_and_leaves_nothing_behind(source, tmpfs):
    library = tmpfs.mount("size=64k")
    source.write_bytes(os.urandom(256 * 1024))
    with pytest.raises(PlacementError) as caught:
        place(source, library, ["Movie", "movie.mkv"], mode="hardlink")
    assert caught.value.library_problem
    assert os.strerror(errno.ENOSPC) in str(caught.value)
    assert files_under(library) == []  # no partial copy, no folder left
    assert source.stat().st_size == 256 * 1024


def test_a_read_only_library_is_a_library_problem(source, tmpfs):
    library = tmpfs.mount("size=1m")
    tmpfs.remount("ro")
    with pytest.raises(PlacementError) as caught:
        place(source, library, ["Movie", "movie.mkv"], mode="copy")
    assert caught.value.library_problem
    assert os.strerror(errno.EROFS) in str(caught.value)
    assert source.exists()


def test_partial_copies_use_a_hidden_name(source, library, monkeypatch):
    seen = []
    real_link = os.link

    def spy(src, dst, *args, **kwargs):
        seen.append(os.path.basename(src))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", spy)
    place(source, library, ["movie.mkv"], mode="copy")
    assert seen and seen[0].startswith(".movie.mkv" + PARTIAL_MARKER)
