"""The emulated Stash's state: the library (scenes, files, markers, tags, performers, studios), its job
queue, the clock and the knobs tests turn.

One re-entrant lock guards everything; the HTTP threads and the job worker take it for each read or
change. Every change bumps the changed kind's version, which is what query caches key on.

Edits follow Stash's rules about `updated_at`: changing a scene, tag, performer or studio stamps its own
updated_at; a marker change stamps only the marker (Stash does not touch the scene), and deleting a tag or
performer drops it from scenes without stamping them (the join rows go, the scene row stays).
"""

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from stash.emulator.entities import KINDS, MAINTAINED, Scene, SceneMarker, VideoFile, field_names
from stash.emulator.timefmt import DEFAULT_ZONE, format_time, format_time_nano, load_zone, parse_time, utc_now

VERSION = {"version": "v0.30.1", "hash": "cf3489ef", "build_time": "2026-01-11 10:12:54"}


class NotFound(LookupError):
    pass


@dataclass
class Knobs:
    """What tests and demo mode set: how long jobs take and which of them fail."""

    scan_seconds: float = 2.0
    generate_seconds: float = 4.0
    fail_next_job: str | None = None  # the error message the next job to start fails with
    fail_next_job_at: float = 0.5  # how far (0-1) that job gets first
    failing_generation: frozenset = frozenset()  # scene ids whose generation "errors" (job still finishes)
    refuse_subscriptions: bool = False  # WebSocket upgrades on /graphql answered 400 (no subscriptions)
    legacy_subscriptions_only: bool = False  # speak graphql-ws only, as Stash builds on an older gqlgen did


class Store:
    def __init__(self, *, zone: str = DEFAULT_ZONE, api_key: str = "", library_paths=(), **knobs):
        from stash.emulator.jobs import JobQueue

        self.lock = threading.RLock()
        self.zone = load_zone(zone)
        self.zone_name = zone
        self.api_key = api_key
        self.library_paths = list(library_paths)
        self.knobs = Knobs(**knobs)
        self.scenes: dict[int, Scene] = {}
        self.markers: dict[int, SceneMarker] = {}
        self.tags: dict = {}
        self.performers: dict = {}
        self.studios: dict = {}
        self.files_by_path: dict[str, int] = {}  # file path -> scene id
        self._next_id = dict.fromkeys([*KINDS, "file"], 1)
        self.versions = dict.fromkeys(KINDS, 0)
        self.log = deque(maxlen=200)
        self._fixed_now: datetime | None = None
        self.jobs = JobQueue(self)

    # --- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._fixed_now or utc_now()

    def now_str(self) -> str:
        return format_time(self.now(), self.zone)

    def now_nano(self) -> str:
        return format_time_nano(self.now(), self.zone)

    def set_clock(self, now: str | None = None, advance_seconds: float = 0.0):
        """Freeze the clock at `now` (None: real time again), or move a frozen clock on."""
        with self.lock:
            if now:
                self._fixed_now = parse_time(now, self.zone)
            elif not advance_seconds:
                self._fixed_now = None
            if advance_seconds and self._fixed_now:
                self._fixed_now += timedelta(seconds=advance_seconds)

    def time_string(self, value) -> str:
        """A caller's time (string or datetime) as Stash would store it."""
        if isinstance(value, datetime):
            return format_time(value, self.zone)
        return format_time(parse_time(str(value), self.zone), self.zone)

    # --- ids, tables, log ----------------------------------------------------------------------

    def new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def table(self, kind: str) -> dict:
        return {
            "scene": self.scenes,
            "marker": self.markers,
            "tag": self.tags,
            "performer": self.performers,
            "studio": self.studios,
        }[kind]

    def get(self, kind: str, entity_id):
        try:
            return self.table(kind)[int(entity_id)]
        except (KeyError, ValueError, TypeError):
            raise NotFound(f"{kind} {entity_id} not found") from None

    def touch(self, *kinds: str):
        for kind in kinds:
            self.versions[kind] += 1

    def note(self, level: str, message: str):
        self.log.append({"time": self.now_nano(), "level": level, "message": message})

    # --- generic create / update / delete ------------------------------------------------------

    def create(self, kind: str, **values):
        """A new entity; `values` are entity attributes (see entities.py). Scenes take `files` as dicts."""
        with self.lock:
            cls = KINDS[kind]
            files = values.pop("files", None) if kind == "scene" else None
            self._check_fields(cls, values)
            now = self.now_str()
            values["created_at"] = self.time_string(values["created_at"]) if values.get("created_at") else now
            values["updated_at"] = self.time_string(values["updated_at"]) if values.get("updated_at") else now
            self._check_references(kind, values)
            entity = cls(id=self.new_id(kind), **values)
            self.table(kind)[entity.id] = entity
            if kind == "scene" and files:
                for spec in files:
                    self.add_file(entity, **spec)
            if kind == "marker":
                self._index_marker(entity)
            self.touch(kind)
            return entity

    def update(self, kind: str, entity_id, **values):
        """Change fields; stamps the entity's updated_at unless `updated_at` is given."""
        with self.lock:
            entity = self.get(kind, entity_id)
            self._check_fields(type(entity), values)
            self._check_references(kind, values)
            old_scene = entity.scene_id if kind == "marker" else None
            for name, value in values.items():
                if name not in ("created_at", "updated_at"):
                    setattr(entity, name, value)
            if values.get("created_at"):
                entity.created_at = self.time_string(values["created_at"])
            entity.updated_at = self.time_string(values["updated_at"]) if values.get("updated_at") else self.now_str()
            if kind == "marker":
                self._unindex_marker(entity, old_scene)
                self._index_marker(entity)
            self.touch(kind)
            return entity

    def delete(self, kind: str, entity_id) -> bool:
        with self.lock:
            entity = self.get(kind, entity_id)
            getattr(self, f"_delete_{kind}")(entity)
            del self.table(kind)[entity.id]
            self.touch(kind)
            return True

    def _check_fields(self, cls, values: dict):
        allowed = field_names(cls) - MAINTAINED - {"files"}
        if cls is SceneMarker:
            allowed |= {"scene_id"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
        for name in ("performer_ids", "tag_ids", "parent_ids"):
            if name in values:
                values[name] = sorted({int(v) for v in values[name] or ()})
        for name in ("studio_id", "parent_id", "scene_id", "primary_tag_id"):
            if values.get(name) is not None:
                values[name] = int(values[name])

    def _check_references(self, kind: str, values: dict):
        refs = {
            "studio_id": "studio",
            "parent_id": "studio",
            "scene_id": "scene",
            "primary_tag_id": "tag",
            "performer_ids": "performer",
            "tag_ids": "tag",
            "parent_ids": "tag",
        }
        for name, target in refs.items():
            value = values.get(name)
            for ref in value if isinstance(value, list) else [] if value is None else [value]:
                if ref not in self.table(target):
                    raise NotFound(f"{target} {ref} not found")

    # --- markers -------------------------------------------------------------------------------

    def _index_marker(self, marker: SceneMarker):
        scene = self.scenes[marker.scene_id]
        ids = [*scene.marker_ids, marker.id]
        scene.marker_ids = sorted(ids, key=lambda i: (self.markers[i].seconds, i))

    def _unindex_marker(self, marker: SceneMarker, scene_id: int | None):
        scene = self.scenes.get(scene_id if scene_id is not None else marker.scene_id)
        if scene is not None:
            scene.marker_ids = [i for i in scene.marker_ids if i != marker.id]

    # --- deletions -----------------------------------------------------------------------------

    def _delete_scene(self, scene: Scene):
        for marker_id in scene.marker_ids:
            self.markers.pop(marker_id, None)
        for file in scene.files:
            self.files_by_path.pop(file.path, None)
        self.touch("marker")

    def _delete_marker(self, marker: SceneMarker):
        self._unindex_marker(marker, marker.scene_id)

    def _delete_tag(self, tag):
        if any(m.primary_tag_id == tag.id for m in self.markers.values()):
            # Stash refuses too: a marker cannot lose its primary tag.
            raise ValueError(f"tag {tag.id} is the primary tag of scene markers")
        for scene in self.scenes.values():
            if tag.id in scene.tag_ids:
                scene.tag_ids = [i for i in scene.tag_ids if i != tag.id]
        for marker in self.markers.values():
            if tag.id in marker.tag_ids:
                marker.tag_ids = [i for i in marker.tag_ids if i != tag.id]
        for other in self.tags.values():
            if tag.id in other.parent_ids:
                other.parent_ids = [i for i in other.parent_ids if i != tag.id]
        self.touch("scene", "marker")

    def _delete_performer(self, performer):
        for scene in self.scenes.values():
            if performer.id in scene.performer_ids:
                scene.performer_ids = [i for i in scene.performer_ids if i != performer.id]
        self.touch("scene")

    def _delete_studio(self, studio):
        for scene in self.scenes.values():
            if scene.studio_id == studio.id:
                scene.studio_id = None
        for other in self.studios.values():
            if other.parent_id == studio.id:
                other.parent_id = None
        self.touch("scene")

    # --- files ---------------------------------------------------------------------------------

    def add_file(self, scene: Scene, path: str, size: int = 0, mod_time=None, fingerprints=None, **attrs) -> VideoFile:
        """Attach a file to `scene` (the first one attached is the primary). `fingerprints`: {type: value}."""
        from stash.emulator.entities import Fingerprint

        if path in self.files_by_path:
            raise ValueError(f"a file at {path} already exists")
        now = self.now_str()
        file = VideoFile(
            id=self.new_id("file"),
            path=path,
            basename=path.rsplit("/", 1)[-1],
            size=int(size),
            mod_time=self.time_string(mod_time) if mod_time else now,
            created_at=now,
            updated_at=now,
            **attrs,
        )
        file.fingerprints = [Fingerprint(k, v) for k, v in (fingerprints or {}).items()]
        scene.files = [*scene.files, file]
        self.files_by_path[path] = scene.id
        return file

    # --- summary -------------------------------------------------------------------------------

    def state(self) -> dict:
        with self.lock:
            return {
                "scenes": len(self.scenes),
                "markers": len(self.markers),
                "tags": len(self.tags),
                "performers": len(self.performers),
                "studios": len(self.studios),
                "files": len(self.files_by_path),
                "scenes_missing_cover": sum(1 for s in self.scenes.values() if not s.has_cover),
                "zone": self.zone_name,
                "now": self.now_str(),
                "knobs": {
                    "scan_seconds": self.knobs.scan_seconds,
                    "generate_seconds": self.knobs.generate_seconds,
                    "fail_next_job": self.knobs.fail_next_job,
                    "failing_generation": sorted(self.knobs.failing_generation),
                    "refuse_subscriptions": self.knobs.refuse_subscriptions,
                    "legacy_subscriptions_only": self.knobs.legacy_subscriptions_only,
                },
                "jobs": self.jobs.summary(),
                "log": list(self.log)[-50:],
            }
