"""The records of the emulated library, shaped like Stash's GraphQL types.

Attribute names are the GraphQL field names wherever the field is a plain value, so the executor reads
them directly; relations are kept as ids (resolved in resolvers.py) and times as Stash's own strings
(see timefmt). Ids are ints, served as GraphQL IDs (strings). Lists are replaced, never mutated in place,
so a reader on another thread always sees a whole list.
"""

from dataclasses import dataclass, field, fields

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mov", ".wmv", ".webm", ".m4v"})


@dataclass(slots=True, eq=False)
class Fingerprint:
    type: str
    value: str


@dataclass(slots=True, eq=False)
class VideoFile:
    id: int
    path: str
    basename: str
    size: int
    mod_time: str
    created_at: str
    updated_at: str
    duration: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    width: int = 0
    height: int = 0
    frame_rate: float = 0.0
    bit_rate: int = 0
    format: str = ""
    fingerprints: list[Fingerprint] = field(default_factory=list)

    def fingerprint(self, kind: str) -> str | None:
        for fp in self.fingerprints:
            if fp.type == kind:
                return fp.value
        return None

    def set_fingerprint(self, kind: str, value: str):
        self.fingerprints = [fp for fp in self.fingerprints if fp.type != kind] + [Fingerprint(kind, value)]


@dataclass(slots=True, eq=False)
class Scene:
    id: int
    created_at: str
    updated_at: str
    title: str = ""
    code: str = ""
    details: str = ""
    director: str = ""
    urls: list[str] = field(default_factory=list)
    date: str | None = None
    rating100: int | None = None
    organized: bool = False
    interactive: bool = False
    interactive_speed: int | None = None
    studio_id: int | None = None
    performer_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    marker_ids: list[int] = field(default_factory=list)  # ordered by seconds, as Stash returns them
    files: list[VideoFile] = field(default_factory=list)  # the primary file first
    has_cover: bool = False
    has_heatmap: bool = False


@dataclass(slots=True, eq=False)
class SceneMarker:
    id: int
    scene_id: int
    title: str
    seconds: float
    primary_tag_id: int
    created_at: str
    updated_at: str
    end_seconds: float | None = None
    tag_ids: list[int] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Tag:
    id: int
    name: str
    created_at: str
    updated_at: str
    sort_name: str = ""
    description: str = ""
    aliases: list[str] = field(default_factory=list)
    favorite: bool = False
    ignore_auto_tag: bool = False
    parent_ids: list[int] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Performer:
    id: int
    name: str
    created_at: str
    updated_at: str
    disambiguation: str = ""
    gender: str | None = None
    urls: list[str] = field(default_factory=list)
    birthdate: str | None = None
    country: str = ""
    favorite: bool = False
    rating100: int | None = None
    details: str = ""
    alias_list: list[str] = field(default_factory=list)
    ignore_auto_tag: bool = False


@dataclass(slots=True, eq=False)
class Studio:
    id: int
    name: str
    created_at: str
    updated_at: str
    parent_id: int | None = None
    urls: list[str] = field(default_factory=list)
    details: str = ""
    rating100: int | None = None
    favorite: bool = False
    aliases: list[str] = field(default_factory=list)
    ignore_auto_tag: bool = False


KINDS = {"scene": Scene, "marker": SceneMarker, "tag": Tag, "performer": Performer, "studio": Studio}
# Fields a caller may not set through create/update: identity and what the store maintains itself.
MAINTAINED = {"id", "marker_ids", "scene_id"}


def field_names(cls) -> set[str]:
    return {f.name for f in fields(cls)}
