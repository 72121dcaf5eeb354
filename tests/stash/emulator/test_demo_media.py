"""Demo mode's real media: the demo library's files are real short videos (made once with ffmpeg), so that
the built-in analyzer and scans work on them."""

import json
import os
import shutil
import subprocess

import pytest
from django.core.management import CommandError, call_command

from stash.analysis.local import analyze
from stash.analysis.scenes import SceneInput
from stash.emulator import Store, seed_demo
from stash.emulator.demo_media import CLIPS, LIBRARY_DIR, make_clips, prepare_demo_media
from stash.emulator.tasks import ScanTask


@pytest.fixture
def media_dir(tmp_path, demo_clips):
    shutil.copytree(demo_clips, tmp_path / "clips", copy_function=os.link)
    return tmp_path


@pytest.fixture
def demo_store(media_dir):
    store = seed_demo(Store())
    message = prepare_demo_media(store, str(media_dir))
    assert message.startswith("demo media: "), message
    return store


def ffprobe(path: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-select_streams", "v:0", path],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)["streams"][0]


def test_every_demo_file_is_a_real_video_described_as_it_is(demo_store, media_dir):
    library = str(media_dir / LIBRARY_DIR)
    files = [f for scene in demo_store.scenes.values() for f in scene.files]
    assert len(files) >= 60
    for file in files:
        assert file.path.startswith(library + os.sep) and os.path.isfile(file.path), file.path
        assert demo_store.files_by_path[file.path] in demo_store.scenes
        stream = ffprobe(file.path)
        assert (file.width, file.height, file.video_codec) == (stream["width"], stream["height"], stream["codec_name"])
        assert file.size == os.path.getsize(file.path)
        assert 0 < file.duration < 20
    # Every clip is used, and the VR one says so in its scenes' file names, as VR releases do.
    widths = {f.width for f in files}
    assert widths == {clip.width for clip in CLIPS}
    assert all(f.path.endswith("_180_sbs.mp4") for f in files if f.width == 2880)
    # Seeded markers were moved into the (short) videos.
    for scene in demo_store.scenes.values():
        duration = scene.files[0].duration
        assert all(0 <= demo_store.markers[m].seconds <= duration for m in scene.marker_ids)


def test_a_scan_of_the_demo_library_finds_nothing_new(demo_store):
    before = {scene.id: scene.updated_at for scene in demo_store.scenes.values()}
    task = ScanTask({})
    assert task.prepare(demo_store) == len(demo_store.files_by_path)
    for index in range(len(task.files)):
        task.apply(demo_store, index)
    assert {scene.id: scene.updated_at for scene in demo_store.scenes.values()} == before


def test_clips_are_made_once(media_dir):
    stamps = {p: p.stat().st_mtime_ns for p in (media_dir / "clips").iterdir()}
    assert len(stamps) == len(CLIPS)
    make_clips(str(media_dir))
    assert {p: p.stat().st_mtime_ns for p in (media_dir / "clips").iterdir()} == stamps


EXPECTED = {
    # clip: (tags, markers) the built-in analyzer finds
    "cuts-720p": (["720p"], [(4.0, "Scene Change"), (8.0, "Scene Change")]),
    "calm-480p": (["480p"], []),
    "fast-1080p60": (["1080p", "60fps"], [(3.0, "Scene Change")]),
    "hevc-720p": (["720p", "HEVC"], [(3.0, "Scene Change")]),
    "vr-2880": (["1440p", "VR"], [(3.0, "Scene Change")]),
}


@pytest.mark.django_db
def test_the_builtin_analyzer_finds_tags_and_cuts_in_every_clip(demo_store):
    found = {}
    first_ids = sorted(demo_store.scenes)[: len(CLIPS)]  # scenes take the clips in turn, in id order
    for clip, scene_id in zip(CLIPS, first_ids, strict=True):
        scene = demo_store.scenes[scene_id]
        file = scene.files[0]
        scene_input = SceneInput(scene.id, (), file.path, file.width, file.height, (), 0)
        result = analyze(scene_input, max_markers=10, marker_interval=300, create_markers=True)
        found[clip.name] = ([t.name for t in result.tags], [(round(m.seconds, 1), m.title) for m in result.markers])
    assert found == EXPECTED


def test_without_ffmpeg_the_demo_keeps_made_up_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find there
    store = seed_demo(Store())
    paths = sorted(store.files_by_path)
    assert "ffmpeg is not installed" in prepare_demo_media(store, str(tmp_path / "media"))
    assert sorted(store.files_by_path) == paths
    assert not (tmp_path / "media").exists()


def test_media_dir_needs_demo():
    with pytest.raises(CommandError, match="--media-dir goes with --demo"):
        call_command("stashemulator", "--media-dir", "/tmp/x")
