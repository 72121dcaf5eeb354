"""A scene as video analysis sees it, read from the mirror just before it is analysed; and which scenes
are due for analysis."""

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

# Markers within this many seconds of each other with the same title are the same marker.
MARKER_TOLERANCE_SECONDS = 0.5

# What VR releases carry in their file names: _180 / _360 (the field of view) and the SBS, LR or VR
# tokens (video_180_LR.mp4, clip.SBS.mkv).
_VR_NAME = re.compile(r"_(?:180|360)(?![0-9])|(?:^|[^a-z0-9])(?:sbs|lr|vr)(?:[^a-z0-9]|$)", re.IGNORECASE)
# VR video is stored as two eyes side by side (2:1) or stacked/fisheye (1:1), at high resolution.
VR_MIN_WIDTH = 2880


@dataclass(frozen=True)
class ExistingMarker:
    seconds: float
    title: str


@dataclass(frozen=True)
class SceneInput:
    id: int
    tag_names: tuple[str, ...]
    file_path: str  # the primary file as Stash sees it ("" when the scene has no file)
    width: int | None
    height: int | None
    markers: tuple[ExistingMarker, ...]
    attempts: int

    def has_tag(self, name: str) -> bool:
        wanted = name.casefold()
        return any(tag.casefold() == wanted for tag in self.tag_names)

    def has_marker(self, seconds: float, title: str) -> bool:
        wanted = title.strip().casefold()
        return any(
            abs(marker.seconds - seconds) <= MARKER_TOLERANCE_SECONDS and marker.title.strip().casefold() == wanted
            for marker in self.markers
        )

    @property
    def looks_vr(self) -> bool:
        """Tagged VR in Stash, or a VR file name, or VR proportions (what the tagger's vr_video needs)."""
        return self.has_tag("VR") or vr_by_name(self.file_path) or vr_by_resolution(self.width, self.height)


def vr_by_name(path: str) -> bool:
    name = re.split(r"[/\\]", path)[-1]
    return bool(_VR_NAME.search(name.rsplit(".", 1)[0] if "." in name else name))


def vr_by_resolution(width: int | None, height: int | None) -> bool:
    if not width or not height or width < VR_MIN_WIDTH:
        return False
    ratio = width / height
    return abs(ratio - 2.0) <= 0.04 or abs(ratio - 1.0) <= 0.02


def load_scene(scene_id: int) -> SceneInput | None:
    """The scene's tags, primary file and markers from the mirror (None when the mirror lacks it)."""
    from stash.models import Scene, SceneFile, SceneMarker

    row = Scene.objects.filter(pk=scene_id).values("id", "video_analysis_attempts").first()
    if row is None:
        return None
    file = SceneFile.objects.filter(scene_id=scene_id).order_by("position", "id").values("path", "width", "height")
    file = file.first() or {"path": "", "width": None, "height": None}
    markers = SceneMarker.objects.filter(scene_id=scene_id).values_list("seconds", "title")
    tags = Scene.tags.through.objects.filter(scene_id=scene_id).values_list("tag__name", flat=True)
    return SceneInput(
        id=scene_id,
        tag_names=tuple(tags),
        file_path=file["path"],
        width=file["width"],
        height=file["height"],
        markers=tuple(ExistingMarker(seconds, title) for seconds, title in markers),
        attempts=row["video_analysis_attempts"],
    )


# --- which scenes are due (the video analysis daemon's questions) -------------------------------------------

# Held scenes are counted in chunks of this many ids (query parameters are limited, on SQLite above all).
HELD_CHUNK = 1000


def _due():
    from stash.models import Scene

    return Scene.objects.filter(video_analyzed=False).filter(
        Q(video_analysis_retry_at__isnull=True) | Q(video_analysis_retry_at__lte=timezone.now())
    )


def _newest_due(limit: int, held: set[int]) -> list[int]:
    # Held scenes are skipped here rather than with NOT IN: a user's job may hold more ids than SQLite
    # accepts as query parameters.
    ids = []
    for scene_id in _due().order_by("-id").values_list("id", flat=True).iterator(chunk_size=max(limit, 500)):
        if scene_id not in held:
            ids.append(scene_id)
            if len(ids) == limit:
                break
    return ids


def any_scene_due(held: set[int]) -> bool:
    """Whether a scene not in `held` is due for video analysis (the cheap check made while idle)."""
    return bool(_newest_due(1, held))


def scenes_due(limit: int, held: set[int]) -> tuple[int, list[int]]:
    """(how many scenes are due for video analysis, the newest `limit` of them), leaving out `held` scenes
    (those a live analysis job has in hand).

    Due: `video_analyzed` is false and the scene never failed, or its retry time has come."""
    ids = _newest_due(limit, held)
    if len(ids) < limit:
        return len(ids), ids
    held_list = sorted(held)
    chunks = (held_list[i : i + HELD_CHUNK] for i in range(0, len(held_list), HELD_CHUNK))
    due = _due()
    held_due = sum(due.filter(pk__in=chunk).count() for chunk in chunks)
    return due.count() - held_due, ids
