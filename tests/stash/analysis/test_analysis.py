"""The `analysis` job: the AI video tagger protocol against a stand-in over real HTTP, the built-in analyzer
on short videos made with ffmpeg, and what each leaves behind (one plan per job, scene flags, retries).

The job handler runs in the test process with a real JobContext on a real job row; the mirror comes from
the Stash emulator through a full sync."""

import shutil
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.context import JobCancelled, JobContext
from jobs.models import Job, JobStatus
from jobs.services import create_job
from jobs.types import get_kind
from stash.analysis.run import retry_delay
from stash.connection.config import get_client
from stash.connection.models import StashSettings
from stash.models import Scene, SceneFile, SceneMarker, Tag
from stash.plans.models import AnalysisPlan, PlanChange
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import free_port
from tests.video_tagger import TaggerStandIn

pytestmark = pytest.mark.django_db

HAVE_FFMPEG = bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))
needs_ffmpeg = pytest.mark.skipif(
    not HAVE_FFMPEG, reason="ffmpeg/ffprobe are not installed (CI installs the Debian ffmpeg package)"
)

LIBRARY = "/data/videos"  # where Stash sees the generated videos (mapped to a local temp dir)


@pytest.fixture
def mirror(stash_emulator):
    SyncRun(get_client(), SyncOptions(full=True)).run()
    return stash_emulator


@pytest.fixture
def tagger(settings):
    stand_in = TaggerStandIn().start()
    settings.VIDEO_TAGGER_URL = stand_in.url
    yield stand_in
    stand_in.stop()


@pytest.fixture
def builtin(settings):
    settings.VIDEO_TAGGER_URL = ""


_next_tag_id = iter(range(900_001, 999_999))


def scene_with(scene_id=None, *, path=None, tags=(), markers=(), width=None, height=None) -> Scene:
    """A mirrored scene with exactly these tags, this primary file path and these markers."""
    scene = Scene.objects.get(pk=scene_id) if scene_id else Scene.objects.filter(files__isnull=False).first()
    rows = []
    for name in tags:
        tag = Tag.objects.filter(name=name).first() or Tag.objects.create(id=next(_next_tag_id), name=name)
        rows.append(tag)
    scene.tags.set(rows)
    scene.markers.all().delete()
    for number, (seconds, title) in enumerate(markers):
        SceneMarker.objects.create(id=800_000 + scene.id * 10 + number, scene=scene, seconds=seconds, title=title)
    primary = scene.files.order_by("position").first()
    if path is not None:
        primary.path = path
    primary.width, primary.height = width or primary.width, height or primary.height
    primary.save()
    return scene


def run_analysis(scene_ids, shutdown=None, **params):
    """Run the analysis job's handler on a real (running) job row; returns (job, result)."""
    job = create_job("analysis", {"scene_ids": list(scene_ids), **params})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    result = get_kind("analysis").handler(JobContext(job, shutdown=shutdown), dict(job.parameters))
    return job, result


def changes_of(scene_id) -> list[tuple]:
    rows = PlanChange.objects.filter(scene_id=scene_id).order_by("id")
    return [(c.field, c.action, c.proposed_value, c.confidence) for c in rows]


def modern_answer(video_tags=None, tag_timespans=None) -> dict:
    info = {"video_duration": 120.0}
    if video_tags is not None:
        info["video_tags"] = video_tags
    if tag_timespans is not None:
        info["tag_timespans"] = tag_timespans
    return {"result": {"video_tag_info": info}}


# --- the tagger protocol ---------------------------------------------------------------------------------


def test_the_tagger_gets_the_file_where_it_sees_it_and_the_protocol_fields(mirror, tagger, settings):
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": "/srv/library", "stash": "/data"}]}
    )
    settings.VIDEO_TAGGER_PATH_MAPPINGS = [{"local": "/srv/library", "tagger": "/media/library"}]
    scene = scene_with(path="/data/misc/holiday.mp4", width=1920, height=1080)
    run_analysis([scene.id])
    assert tagger.requests == [
        {
            "path": "/process_video/",
            "json": {
                "path": "/media/library/misc/holiday.mp4",
                "frame_interval": 2.0,
                "threshold": 0.3,
                "return_confidence": True,
                "vr_video": False,
            },
        }
    ]


@pytest.mark.parametrize(
    "vr_hint",
    [
        {"tags": ["VR"]},
        {"path": "/data/vr/beach_180_LR.mp4"},
        {"path": "/data/vr/beach.SBS.mkv"},
        {"width": 5760, "height": 2880},
        {"width": 2880, "height": 2880},
    ],
)
def test_vr_scenes_are_sent_as_vr_video(mirror, tagger, vr_hint):
    scene = scene_with(**{"path": "/data/misc/plain.mp4", "width": 1920, "height": 1080, **vr_hint})
    run_analysis([scene.id], frame_interval=5.0, tagger_threshold=0.5)
    body = tagger.requests[0]["json"]
    assert (body["vr_video"], body["frame_interval"], body["threshold"]) == (True, 5.0, 0.5)


def test_a_modern_answer_becomes_tag_and_marker_changes_in_one_plan(mirror, tagger):
    first = scene_with(
        tags=["Beach_AI", "AI_TagMe", "Outdoor"],
        markers=[(30.3, "Kissing_AI")],  # already in Stash: not proposed again
    )
    second = scene_with(Scene.objects.filter(files__isnull=False).exclude(pk=first.pk).first().pk, tags=[])
    tagger.reply(
        modern_answer(
            video_tags={"actions": ["Kissing", "Dancing_AI"], "places": ["Beach", "Kissing"]},
            tag_timespans={
                "actions": {
                    "Kissing": [{"start": 0, "end": 4}, {"start": 30, "end": 30}],
                    "Dancing": [{"start": 61.5, "end": 70}],
                }
            },
        )
    )
    job, result = run_analysis([first.id, second.id], plan_name="Tagged by the stand-in")

    assert list(changes_of(first.id)) == [
        ("tags", "add", "Kissing_AI", 0.7),
        ("tags", "add", "Dancing_AI", 0.7),  # the suffix is not doubled
        ("markers", "add", {"seconds": 0.0, "title": "Kissing_AI", "tags": ["Kissing_AI"], "end_seconds": 4.0}, 0.7),
        ("markers", "add", {"seconds": 61.5, "title": "Dancing_AI", "tags": ["Dancing_AI"], "end_seconds": 70.0}, 0.7),
        ("tags", "remove", None, 1.0),
        ("tags", "add", ["AI_Tagged"], 1.0),
    ]
    remove = PlanChange.objects.get(scene_id=first.id, action="remove")
    assert remove.current_value == ["AI_TagMe"]
    # The second scene lacks Beach_AI, has no markers and no AI_TagMe.
    assert [c[2] for c in changes_of(second.id)] == [
        "Kissing_AI",
        "Dancing_AI",
        "Beach_AI",
        {"seconds": 0.0, "title": "Kissing_AI", "tags": ["Kissing_AI"], "end_seconds": 4.0},
        {"seconds": 30.0, "title": "Kissing_AI", "tags": ["Kissing_AI"]},
        {"seconds": 61.5, "title": "Dancing_AI", "tags": ["Dancing_AI"], "end_seconds": 70.0},
        ["AI_Tagged"],
    ]
    plan = AnalysisPlan.objects.get()
    assert (plan.name, plan.source_job_id, plan.status) == ("Tagged by the stand-in", job.pk, "draft")
    assert plan.changes.count() == 13 == result["total_changes"]
    assert plan.metadata["scenes_analyzed"] == 2 and "building" not in plan.metadata
    assert result["plan_id"] == plan.pk
    assert result["summary"]["by_field"]["markers"] == 5
    assert (result["scenes_analyzed"], result["scenes_failed"], result["analyzer"]) == (2, 0, "tagger")
    assert Scene.objects.filter(pk__in=[first.id, second.id], video_analyzed=True).count() == 2


@pytest.mark.parametrize("as_string", [True, False], ids=["json-string", "object"])
def test_the_legacy_json_result_form_is_read(mirror, tagger, as_string):
    import json

    legacy = {"video_tags": {"scene": ["Sunset"]}, "tag_timespans": {"scene": {"Sunset": [{"start": 12, "end": 20}]}}}
    tagger.reply({"result": {"json_result": json.dumps(legacy) if as_string else legacy}})
    scene = scene_with(tags=["AI_Tagged"])
    run_analysis([scene.id])
    assert changes_of(scene.id) == [
        ("tags", "add", "Sunset_AI", 0.7),
        ("markers", "add", {"seconds": 12.0, "title": "Sunset_AI", "tags": ["Sunset_AI"], "end_seconds": 20.0}, 0.7),
    ]
    assert Scene.objects.get(pk=scene.id).video_analyzed


def test_timespans_are_merged_and_weak_findings_are_dropped(mirror, tagger):
    tagger.reply(
        {
            "result": {
                "video_tag_info": {
                    "timespans": {
                        "actions": {
                            "Running": [
                                {"start": 10, "end": 10, "confidence": 0.9},
                                {"start": 12, "end": 12, "confidence": 0.8},  # within 1.1 × 2 s: one span
                                {"start": 40, "end": 40, "confidence": 0.75},
                            ],
                            "Sitting": [{"start": 50, "end": 50, "confidence": 0.4}],  # below 0.7
                        }
                    }
                }
            }
        }
    )
    scene = scene_with(tags=["AI_Tagged"])
    run_analysis([scene.id])
    assert changes_of(scene.id) == [
        ("tags", "add", "Running_AI", 0.8167),
        ("markers", "add", {"seconds": 10.0, "title": "Running_AI", "tags": ["Running_AI"], "end_seconds": 12.0}, 0.85),
        ("markers", "add", {"seconds": 40.0, "title": "Running_AI", "tags": ["Running_AI"]}, 0.75),
    ]


def test_a_scene_the_tagger_finds_nothing_new_in_is_analysed_without_a_plan(mirror, tagger):
    tagger.reply(modern_answer(video_tags={"places": ["beach_ai"]}))  # the scene has Beach_AI (case differs)
    scene = scene_with(tags=["Beach_AI", "AI_Tagged"])
    Scene.objects.filter(pk=scene.id).update(
        video_analysis_attempts=3, video_analysis_error="earlier outage", video_analysis_retry_at=timezone.now()
    )
    _job, result = run_analysis([scene.id])
    assert result["plan_id"] is None and result["total_changes"] == 0
    assert not AnalysisPlan.objects.exists()
    scene.refresh_from_db()
    assert scene.video_analyzed
    # A success clears the failure record.
    assert (scene.video_analysis_attempts, scene.video_analysis_error, scene.video_analysis_retry_at) == (0, "", None)


# --- a tagger that fails ---------------------------------------------------------------------------------


def _refuse(stand_in, settings):
    settings.VIDEO_TAGGER_URL = f"http://127.0.0.1:{free_port()}"


def _http_500(stand_in, settings):
    stand_in.reply({"detail": "CUDA out of memory"}, status=500)


def _not_json(stand_in, settings):
    stand_in.reply("<html>Bad Gateway</html>")


def _no_result(stand_in, settings):
    stand_in.reply({"error": "model not loaded"})


def _too_slow(stand_in, settings):
    settings.VIDEO_TAGGER_TIMEOUT_SECONDS = 1
    stand_in.reply(modern_answer(video_tags={"a": ["Late"]}), delay=3)


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (_refuse, "is unreachable"),
        (_http_500, 'answered HTTP 500: {"detail": "CUDA out of memory"}'),
        (_not_json, "not valid JSON"),
        (_no_result, "has no result object"),
        (_too_slow, "did not answer within 1 s"),
    ],
    ids=["down", "http-500", "malformed-json", "no-result", "timeout"],
)
def test_a_failing_tagger_leaves_the_scene_to_be_retried_later(mirror, tagger, settings, failure, reason):
    failure(tagger, settings)
    scene = scene_with(tags=["AI_TagMe"])
    before = timezone.now()
    job, result = run_analysis([scene.id])

    scene.refresh_from_db()
    assert not scene.video_analyzed
    assert scene.video_analysis_attempts == 1
    assert reason in scene.video_analysis_error
    assert before + timedelta(minutes=10) <= scene.video_analysis_retry_at <= timezone.now() + timedelta(minutes=10)
    assert result["scenes_failed"] == 1 and result["scenes_analyzed"] == 0
    assert result["failures"] == [{"scene_id": scene.id, "error": scene.video_analysis_error}]
    # Nothing is proposed for a failure: no AI_Errored, no plan.
    assert result["plan_id"] is None and not AnalysisPlan.objects.exists() and not PlanChange.objects.exists()

    # Failing again waits twice as long.
    run_analysis([scene.id])
    scene.refresh_from_db()
    assert scene.video_analysis_attempts == 2
    assert scene.video_analysis_retry_at >= timezone.now() + timedelta(minutes=19)


def test_the_retry_delay_grows_from_ten_minutes_to_a_day():
    minutes = [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 8, 9, 50, 32767)]
    assert minutes == [10, 20, 40, 80, 1280, 1440, 1440, 1440]


def test_a_scene_without_files_fails_with_a_clear_reason(mirror, tagger):
    scene = scene_with(tags=[])
    SceneFile.objects.filter(scene=scene).delete()
    _job, result = run_analysis([scene.id])
    scene.refresh_from_db()
    assert (scene.video_analyzed, scene.video_analysis_attempts) == (False, 1)
    assert scene.video_analysis_error == "The scene has no video file in Stash"
    assert result["failures"][0]["error"] == "The scene has no video file in Stash"
    assert tagger.requests == []


def test_one_failing_scene_does_not_stop_the_others(mirror, tagger):
    good, bad = Scene.objects.filter(files__isnull=False)[:2]
    scene_with(good.id, path="/data/good.mp4", tags=[])
    scene_with(bad.id, path="/data/bad.mp4", tags=[])
    tagger.answer = lambda request: (
        (500, {"detail": "decoder crashed"}) if request["path"].endswith("bad.mp4") else (200, modern_answer())
    )
    _job, result = run_analysis([bad.id, good.id])
    assert (result["scenes_analyzed"], result["scenes_failed"]) == (1, 1)
    assert Scene.objects.get(pk=good.id).video_analyzed
    assert not Scene.objects.get(pk=bad.id).video_analyzed
    assert changes_of(good.id) == [("tags", "add", ["AI_Tagged"], 1.0)]


def test_cancelling_stops_waiting_for_the_tagger_at_once(mirror, tagger):
    shutdown = threading.Event()
    tagger.on_request = lambda request: shutdown.set()  # the worker shuts down while the tagger works
    tagger.reply(modern_answer(video_tags={"a": ["Late"]}), delay=10)
    scene = scene_with(tags=[])
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        run_analysis([scene.id], shutdown=shutdown)
    assert time.monotonic() - started < 5
    scene.refresh_from_db()
    assert (scene.video_analyzed, scene.video_analysis_attempts) == (False, 0)


# --- the built-in analyzer -------------------------------------------------------------------------------


def _ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Short real videos: a 720p one with a hard cut at 3 s, a calm VR-named one, a 1080p60 HEVC one."""
    if not HAVE_FFMPEG:
        pytest.skip("ffmpeg/ffprobe are not installed (CI installs the Debian ffmpeg package)")
    folder = tmp_path_factory.mktemp("videos")
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    _ffmpeg(
        *["-f", "lavfi", "-i", "testsrc=size=1280x720:rate=30:duration=3"],
        *["-f", "lavfi", "-i", "smptebars=size=1280x720:rate=30:duration=3"],
        *["-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", *h264, str(folder / "cut.mp4")],
    )
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=6", *h264, str(folder / "calm_180_LR.mp4"))
    _ffmpeg(
        *["-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=60:duration=1", "-c:v", "libx265"],
        *["-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", str(folder / "hevc60.mp4")],
    )
    return folder


@pytest.fixture
def library(videos):
    """The generated videos are where Stash's /data/videos is on this machine."""
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": str(videos), "stash": LIBRARY}]}
    )
    return videos


@needs_ffmpeg
def test_the_builtin_analyzer_tags_the_resolution_and_marks_the_cut(mirror, builtin, library):
    scene = scene_with(path=f"{LIBRARY}/cut.mp4", tags=["AI_TagMe"])
    job, result = run_analysis([scene.id])
    assert result["analyzer"] == "builtin" and result["scenes_analyzed"] == 1, result
    changes = changes_of(scene.id)
    assert changes[0] == ("tags", "add", "720p_AI", 1.0)
    markers = [c for c in changes if c[0] == "markers"]
    assert len(markers) == 1
    value = markers[0][2]
    assert (value["title"], value["tags"]) == ("Scene Change_AI", ["Scene Change_AI"])
    assert abs(value["seconds"] - 3.0) < 0.2
    # The status tags belong to the AI tagger: the built-in analyzer leaves AI_TagMe for it.
    assert len(changes) == 2
    assert Scene.objects.get(pk=scene.id).video_analyzed
    assert AnalysisPlan.objects.get().source_job_id == job.pk


@needs_ffmpeg
def test_the_builtin_analyzer_does_not_propose_a_marker_the_scene_has(mirror, builtin, library):
    scene = scene_with(path=f"{LIBRARY}/cut.mp4", tags=["720p_AI"], markers=[(3.3, "Scene Change_AI")])
    _job, result = run_analysis([scene.id])
    assert result["scenes_analyzed"] == 1 and result["plan_id"] is None
    assert changes_of(scene.id) == []


@needs_ffmpeg
def test_the_builtin_analyzer_reads_hevc_1080p60(mirror, builtin, library):
    scene = scene_with(path=f"{LIBRARY}/hevc60.mp4", tags=[])
    run_analysis([scene.id], create_markers=False)
    assert [c[2] for c in changes_of(scene.id)] == ["1080p_AI", "60fps_AI", "HEVC_AI"]


@needs_ffmpeg
def test_without_cuts_the_builtin_analyzer_places_at_most_n_chapter_markers(mirror, builtin, library, settings):
    settings.VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS = 1
    settings.VIDEO_ANALYSIS_MAX_MARKERS = 3
    scene = scene_with(path=f"{LIBRARY}/calm_180_LR.mp4", tags=[])
    run_analysis([scene.id])
    changes = changes_of(scene.id)
    assert [c[2] for c in changes if c[0] == "tags"] == ["VR_AI"]  # by its name; 640×360 has no class
    markers = [c[2] for c in changes if c[0] == "markers"]
    assert [m["seconds"] for m in markers] == [1.5, 3.0, 4.5]
    assert {m["title"] for m in markers} == {"Chapter_AI"}


def test_a_file_missing_on_this_machine_names_both_paths(mirror, builtin, tmp_path):
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": str(tmp_path), "stash": LIBRARY}]}
    )
    scene = scene_with(path=f"{LIBRARY}/gone.mp4", tags=[])
    run_analysis([scene.id])
    scene.refresh_from_db()
    assert not scene.video_analyzed and scene.video_analysis_attempts == 1
    assert f"{tmp_path}/gone.mp4" in scene.video_analysis_error
    assert f"Stash's path {LIBRARY}/gone.mp4" in scene.video_analysis_error


def test_a_missing_ffprobe_is_recorded_on_each_scene(mirror, builtin, settings, tmp_path):
    settings.FFPROBE_BINARY = "ffprobe-that-is-not-installed"
    (tmp_path / "a.mp4").write_bytes(b"not really a video")
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": str(tmp_path), "stash": LIBRARY}]}
    )
    first, second = Scene.objects.filter(files__isnull=False)[:2]
    for scene in (first, second):
        scene_with(scene.id, path=f"{LIBRARY}/a.mp4", tags=[])
    _job, result = run_analysis([first.id, second.id])
    assert result["scenes_failed"] == 2
    for scene in Scene.objects.filter(pk__in=[first.id, second.id]):
        assert not scene.video_analyzed and scene.video_analysis_retry_at is not None
        assert "ffprobe is not installed" in scene.video_analysis_error


@needs_ffmpeg
def test_an_unreadable_file_is_a_failure_not_a_crash(mirror, builtin, tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 2048)
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": str(tmp_path), "stash": LIBRARY}]}
    )
    scene = scene_with(path=f"{LIBRARY}/broken.mp4", tags=[])
    run_analysis([scene.id])
    scene.refresh_from_db()
    assert not scene.video_analyzed
    assert scene.video_analysis_error.startswith("ffprobe could not read")


# --- which scenes the daemon picks ---------------------------------------------------------------------------


def test_the_daemon_picks_due_scenes_no_job_holds_newest_first(mirror):
    from daemons.kinds.auto_video_analysis import _candidates

    Scene.objects.update(video_analyzed=True)
    newest = list(Scene.objects.order_by("-id").values_list("id", flat=True)[:6])
    Scene.objects.filter(pk__in=newest).update(video_analyzed=False)
    now = timezone.now()
    Scene.objects.filter(pk=newest[0]).update(video_analysis_retry_at=now + timedelta(minutes=5))  # not yet
    Scene.objects.filter(pk=newest[1]).update(video_analysis_retry_at=now - timedelta(minutes=5))  # due again
    create_job("analysis", {"scene_ids": [newest[2]]})  # pending: holds its scene
    finished = create_job("analysis", {"scene_ids": [newest[3]]})
    Job.objects.filter(pk=finished.pk).update(status=JobStatus.FAILED)  # over: holds nothing

    assert _candidates(2) == (4, [newest[1], newest[3]])
    assert _candidates(10) == (4, [newest[1], newest[3], newest[4], newest[5]])
