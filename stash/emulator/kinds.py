"""How findScenes/findSceneMarkers/findTags/findPerformers/findStudios filter and sort each kind: the
criteria each *_filter input supports (schema.SDL lists the same ones) and the sorts Stash accepts."""

from stash.emulator.entities import Scene
from stash.emulator.queries import (
    Kind,
    QueryError,
    int_criterion,
    multi_criterion,
    string_criterion,
    timestamp_criterion,
)

MISSING = {
    "cover": lambda s: not s.has_cover,
    # Stash joins every file's phash: a scene with any file lacking one (or no file) is "missing".
    "phash": lambda s: not s.files or any(f.fingerprint("phash") is None for f in s.files),
    "title": lambda s: not s.title,
    "details": lambda s: not s.details,
    "date": lambda s: not s.date,
    "url": lambda s: not s.urls,
    "studio": lambda s: s.studio_id is None,
    "performers": lambda s: not s.performer_ids,
    "tags": lambda s: not s.tag_ids,
}


def _timestamps(store, f: dict) -> list:
    return [timestamp_criterion(store, name, f[name]) for name in ("created_at", "updated_at") if f.get(name)]


def _scene_filter(store, f: dict) -> list:
    checks = _timestamps(store, f)
    if f.get("id"):
        checks.append(int_criterion(lambda s: s.id, f["id"]))
    if f.get("title"):
        checks.append(string_criterion(lambda s: s.title, f["title"]))
    if f.get("path"):
        by_file = [string_criterion(lambda p: p, f["path"])]
        checks.append(lambda s: any(by_file[0](file.path) for file in s.files))
    if f.get("organized") is not None:
        checks.append(lambda s, want=f["organized"]: s.organized == want)
    if f.get("interactive") is not None:
        checks.append(lambda s, want=f["interactive"]: s.interactive == want)
    if f.get("interactive_speed"):
        checks.append(int_criterion(lambda s: s.interactive_speed, f["interactive_speed"]))
    if f.get("is_missing"):
        missing = MISSING.get(f["is_missing"])
        if missing is None:
            raise QueryError(f"invalid is_missing field: {f['is_missing']}")
        checks.append(missing)
    return checks


def _named_filter(store, f: dict) -> list:
    checks = _timestamps(store, f)
    if f.get("name"):
        checks.append(string_criterion(lambda e: e.name, f["name"]))
    if f.get("aliases"):
        # Stash joins the aliases table: an entity matches when one of its aliases does.
        if f["aliases"]["modifier"] not in ("EQUALS", "INCLUDES", "MATCHES_REGEX"):
            raise QueryError(f"the emulator does not filter aliases with {f['aliases']['modifier']}")
        alias_matches = string_criterion(lambda alias: alias, f["aliases"])
        checks.append(lambda e: any(alias_matches(alias) for alias in e.aliases))
    return checks


def _marker_filter(store, f: dict) -> list:
    checks = _timestamps(store, f)
    if f.get("scenes"):
        checks.append(multi_criterion(lambda m: (m.scene_id,), f["scenes"]))
    return checks


# Tiebreaks: title or name, case-folded; equal ones are ordered by id after them (queries._order).
def _title_key(entity) -> str:
    return entity.title.casefold()


def _name_key(entity) -> str:
    return entity.name.casefold()


def _primary(scene: Scene):
    return scene.files[0] if scene.files else None


_COMMON_SORTS = {"id": lambda e: e.id, "created_at": lambda e: e.created_at, "updated_at": lambda e: e.updated_at}

SCENES = Kind(
    "scene",
    "scene",
    sorts={
        **_COMMON_SORTS,
        "title": lambda s: s.title.casefold(),
        "date": lambda s: s.date,
        "rating": lambda s: s.rating100,
        "organized": lambda s: s.organized,
        "interactive": lambda s: s.interactive,
        "interactive_speed": lambda s: s.interactive_speed,
        "path": lambda s: _primary(s).path if s.files else None,
        "filesize": lambda s: _primary(s).size if s.files else None,
        "duration": lambda s: _primary(s).duration if s.files else None,
        "random": lambda s: s.id,
    },
    # Stash's full list, so that a sort it accepts is not refused here (unemulated ones sort by id).
    known_sorts=(
        "bitrate code production_date file_count file_mod_time framerate group_scene_number last_o_at "
        "last_played_at movie_scene_number o_counter performer_count play_count play_duration resume_time "
        "perceptual_similarity resolution studio tag_count performer_age"
    ).split(),
    tiebreak=_title_key,
    build_filter=_scene_filter,
    search_fields=(
        lambda s: (s.title, s.details, s.code),
        lambda s: (f.path for f in s.files),
    ),
)
MARKERS = Kind(
    "marker",
    "scene marker",
    sorts={**_COMMON_SORTS, "title": lambda m: m.title.casefold(), "seconds": lambda m: m.seconds},
    known_sorts=("scene_id", "scenes_updated_at", "random"),
    tiebreak=_title_key,
    build_filter=_marker_filter,
    search_fields=(lambda m: (m.title,),),
)
TAGS = Kind(
    "tag",
    "tag",
    sorts={**_COMMON_SORTS, "name": lambda t: t.name.casefold()},
    known_sorts=("scenes_count", "scene_markers_count", "performers_count", "random"),
    tiebreak=_name_key,
    build_filter=_named_filter,
    search_fields=(lambda t: (t.name, *t.aliases),),
)
PERFORMERS = Kind(
    "performer",
    "performer",
    sorts={**_COMMON_SORTS, "name": lambda p: p.name.casefold(), "rating": lambda p: p.rating100},
    known_sorts=("scenes_count", "birthdate", "random"),
    tiebreak=_name_key,
    build_filter=_named_filter,
    search_fields=(lambda p: (p.name, p.disambiguation, *p.alias_list),),
)
STUDIOS = Kind(
    "studio",
    "studio",
    sorts={**_COMMON_SORTS, "name": lambda s: s.name.casefold(), "rating": lambda s: s.rating100},
    known_sorts=("scenes_count", "random"),
    tiebreak=_name_key,
    build_filter=_named_filter,
    search_fields=(lambda s: (s.name, *s.aliases),),
)
