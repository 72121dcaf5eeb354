"""Resolvers: one function per root field (ROOT) and per computed object field (FIELDS).

A root resolver takes the request context and the field's coerced arguments and returns store records
(or small namespaces); executor.py projects them over the selection set. Plain fields are read straight
from the records' attributes (ATTRIBUTES maps the few whose Python name differs). To serve a new
operation, add its field to schema.SDL and one `@root(...)` function here.
"""

from datetime import datetime
from types import SimpleNamespace

from stash.emulator import queries
from stash.emulator.kinds import MARKERS, PERFORMERS, SCENES, STUDIOS, TAGS
from stash.emulator.queries import Kind
from stash.emulator.store import VERSION
from stash.emulator.tasks import GenerateTask, ScanTask

ROOT: dict = {}
FIELDS: dict = {}
ATTRIBUTES = {
    ("Job", "subTasks"): "sub_tasks",
    ("Job", "startTime"): "start_time",
    ("Job", "endTime"): "end_time",
    ("Job", "addTime"): "add_time",
}


class ResolverError(Exception):
    """An error Stash would return for this field (HTTP 200, error with a path, null data)."""


def root(kind: str, name: str):
    def register(fn):
        ROOT[(kind, name)] = fn
        return fn

    return register


def resolves(type_name: str, *field_names: str):
    def register(fn):
        for name in field_names:
            FIELDS[(type_name, name)] = fn
        return fn

    return register


def _int_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ResolverError(f'strconv.Atoi: parsing "{value}": invalid syntax') from None


def _find(ctx, kind: Kind, find_filter, entity_filter, ids, attr: str):
    if ids:
        # Stash answers an id list with FindMany: no filter, no paging, the given order, and an error
        # when one of them does not exist.
        table = ctx.store.table(kind.name)
        found = []
        for raw in ids:
            entity = table.get(_int_id(raw))
            if entity is None:
                raise ResolverError(f"{kind.label} with id {raw} not found")
            found.append(entity)
        return SimpleNamespace(count=len(found), all=found, **{attr: found})
    try:
        matches, page = queries.find(ctx.store, kind, find_filter, entity_filter)
    except queries.QueryError as exc:
        raise ResolverError(str(exc)) from None
    return SimpleNamespace(count=len(matches), all=matches, **{attr: page})


# --- queries -------------------------------------------------------------------------------------


@root("query", "version")
def version(ctx):
    return SimpleNamespace(**VERSION)


@root("query", "configuration")
def configuration(ctx):
    """Stash's library folders (Settings → Library): what scans are confined to and the path-mapping health
    check reads."""
    stashes = [SimpleNamespace(path=p, excludeVideo=False, excludeImage=False) for p in ctx.store.library_paths]
    return SimpleNamespace(general=SimpleNamespace(stashes=stashes))


@root("query", "findScene")
def find_scene(ctx, id=None):
    return ctx.store.scenes.get(_int_id(id)) if id is not None else None


@root("query", "findScenes")
def find_scenes(ctx, filter=None, scene_filter=None, ids=None):
    return _find(ctx, SCENES, filter, scene_filter, ids, "scenes")


@root("query", "findSceneMarkers")
def find_scene_markers(ctx, filter=None, scene_marker_filter=None, ids=None):
    return _find(ctx, MARKERS, filter, scene_marker_filter, ids, "scene_markers")


@root("query", "findTags")
def find_tags(ctx, filter=None, tag_filter=None, ids=None):
    return _find(ctx, TAGS, filter, tag_filter, ids, "tags")


@root("query", "findPerformers")
def find_performers(ctx, filter=None, performer_filter=None, ids=None):
    return _find(ctx, PERFORMERS, filter, performer_filter, ids, "performers")


@root("query", "findStudios")
def find_studios(ctx, filter=None, studio_filter=None, ids=None):
    return _find(ctx, STUDIOS, filter, studio_filter, ids, "studios")


@root("query", "jobQueue")
def job_queue(ctx):
    return ctx.store.jobs.current() or None  # Stash's empty queue is a nil slice: null


@root("query", "findJob")
def find_job(ctx, input):
    return ctx.store.jobs.find(_int_id(input["id"]))


# --- mutations -----------------------------------------------------------------------------------


@root("mutation", "metadataScan")
def metadata_scan(ctx, input):
    task = ScanTask(input)
    return ctx.store.jobs.add(task.description, task)


@root("mutation", "metadataGenerate")
def metadata_generate(ctx, input):
    task = GenerateTask(input)
    return ctx.store.jobs.add(task.description, task)


@root("mutation", "stopJob")
def stop_job(ctx, job_id):
    ctx.store.jobs.stop(_int_id(job_id))
    return True


def _nocase(text: str) -> str:
    """SQLite's NOCASE collation, which Stash's uniqueness checks use: ASCII letters only."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _id_list(values) -> list[int]:
    return [_int_id(v) for v in values or ()]


@root("mutation", "sceneUpdate")
def scene_update(ctx, input):
    """Only the fields given change (null clears); the scene's updated_at is stamped, as in Stash."""
    values = dict(input)
    scene_id = _int_id(values.pop("id"))
    if scene_id not in ctx.store.scenes:
        raise ResolverError(f"scene with id {scene_id} not found")
    for name in ("performer_ids", "tag_ids"):
        if name in values:
            values[name] = _id_list(values[name])
    if values.get("studio_id") is not None:
        values["studio_id"] = _int_id(values["studio_id"])
    for name in ("title", "code", "details", "director"):
        if name in values and values[name] is None:
            values[name] = ""
    return ctx.store.update("scene", scene_id, **values)


@root("mutation", "sceneMarkerCreate")
def scene_marker_create(ctx, input):
    """A new marker; Stash does not touch the scene's updated_at for it."""
    values = dict(input)
    values["scene_id"] = _int_id(values["scene_id"])
    values["primary_tag_id"] = _int_id(values["primary_tag_id"])
    values["tag_ids"] = _id_list(values.get("tag_ids"))
    if values["scene_id"] not in ctx.store.scenes:
        raise ResolverError(f"scene with id {values['scene_id']} not found")
    return ctx.store.create("marker", **values)


@root("mutation", "sceneMarkerDestroy")
def scene_marker_destroy(ctx, id):
    marker_id = _int_id(id)
    if marker_id not in ctx.store.markers:
        raise ResolverError(f"scene marker with id {marker_id} not found")
    return ctx.store.delete("marker", marker_id)


def _unique_name(table, kind: str, name: str, *, aliases: str | None = None, extra=lambda entity: True):
    """Stash refuses a second tag/performer/studio of the same name, and its check is `name LIKE ?`:
    ASCII case ignored, and `_` (any one character) or `%` (any run) in the new name match whatever is
    there, so `Hug_AI` is refused when `Hug AI` exists."""
    wanted = queries.like_pattern(name)
    for entity in table.values():
        if wanted.fullmatch(entity.name) and extra(entity):
            raise ResolverError(f"{kind} with name '{name}' already exists")
        if aliases and any(wanted.fullmatch(a) for a in getattr(entity, aliases)):
            raise ResolverError(f"name '{name}' is used as alias for '{entity.name}'")


@root("mutation", "tagCreate")
def tag_create(ctx, input):
    values = dict(input)
    _unique_name(ctx.store.tags, "tag", values["name"], aliases="aliases")
    if "parent_ids" in values:
        values["parent_ids"] = _id_list(values["parent_ids"])
    return ctx.store.create("tag", **{k: v for k, v in values.items() if v is not None})


@root("mutation", "performerCreate")
def performer_create(ctx, input):
    values = dict(input)
    disambiguation = _nocase(values.get("disambiguation") or "")

    def same_disambiguation(performer):  # performers may share a name when their disambiguations differ
        return _nocase(performer.disambiguation or "") == disambiguation

    _unique_name(ctx.store.performers, "performer", values["name"], extra=same_disambiguation)
    return ctx.store.create("performer", **{k: v for k, v in values.items() if v is not None})


@root("mutation", "studioCreate")
def studio_create(ctx, input):
    values = dict(input)
    _unique_name(ctx.store.studios, "studio", values["name"], aliases="aliases")
    if values.get("parent_id") is not None:
        values["parent_id"] = _int_id(values["parent_id"])
    return ctx.store.create("studio", **{k: v for k, v in values.items() if v is not None})


# --- object fields -------------------------------------------------------------------------------


@resolves("FindScenesResultType", "duration")
def result_duration(result, ctx):
    return float(sum(f.duration for s in result.all for f in s.files[:1]))


@resolves("FindScenesResultType", "filesize")
def result_filesize(result, ctx):
    return float(sum(f.size for s in result.all for f in s.files[:1]))


@resolves("Scene", "studio")
def scene_studio(scene, ctx):
    return ctx.store.studios.get(scene.studio_id) if scene.studio_id is not None else None


@resolves("Scene", "performers")
def scene_performers(scene, ctx):
    table = ctx.store.performers
    return [table[i] for i in scene.performer_ids if i in table]


@resolves("Scene", "tags")
def scene_tags(scene, ctx):
    table = ctx.store.tags
    return [table[i] for i in scene.tag_ids if i in table]


@resolves("Scene", "scene_markers")
def scene_markers(scene, ctx):
    table = ctx.store.markers
    return [table[i] for i in scene.marker_ids if i in table]


@resolves("Scene", "paths")
def scene_paths(scene, ctx):
    return scene  # ScenePathsType's fields are computed from the scene


def _cache_buster(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp())


_SCENE_PATHS = {
    "preview": "/scene/{}/preview",
    "stream": "/scene/{}/stream",
    "webp": "/scene/{}/webp",
    "vtt": "/scene/{}_thumbs.vtt",
    "sprite": "/scene/{}_sprite.jpg",
    "funscript": "/scene/{}/funscript",
    "interactive_heatmap": "/scene/{}/interactive_heatmap",
    "caption": "/scene/{}/caption",
}


@resolves("ScenePathsType", "screenshot")
def scene_screenshot(scene, ctx):
    return f"{ctx.base_url}/scene/{scene.id}/screenshot?t={_cache_buster(scene.updated_at)}"


def _path_resolver(template):
    return lambda scene, ctx: ctx.base_url + template.format(scene.id)


for _name, _template in _SCENE_PATHS.items():
    FIELDS[("ScenePathsType", _name)] = _path_resolver(_template)


@resolves("VideoFile", "fingerprint")
def file_fingerprint(file, ctx, type):
    return file.fingerprint(type)


@resolves("SceneMarker", "scene")
def marker_scene(marker, ctx):
    return ctx.store.scenes[marker.scene_id]


@resolves("SceneMarker", "primary_tag")
def marker_primary_tag(marker, ctx):
    return ctx.store.tags[marker.primary_tag_id]


@resolves("SceneMarker", "tags")
def marker_tags(marker, ctx):
    table = ctx.store.tags
    return [table[i] for i in marker.tag_ids if i in table]


def _marker_path(suffix):
    return lambda m, ctx: f"{ctx.base_url}/scene/{m.scene_id}/scene_marker/{m.id}/{suffix}"


for _name in ("stream", "preview", "screenshot"):
    FIELDS[("SceneMarker", _name)] = _marker_path(_name)


def _children_index(store) -> dict:
    """Tag id -> child tags, rebuilt when tags change (Tag.children is asked for per tag)."""
    cached = store.__dict__.get("_tag_children")
    if cached and cached[0] == store.versions["tag"]:
        return cached[1]
    index = {}
    for tag in store.tags.values():
        for parent in tag.parent_ids:
            index.setdefault(parent, []).append(tag)
    store._tag_children = (store.versions["tag"], index)
    return index


@resolves("Tag", "parents")
def tag_parents(tag, ctx):
    return [ctx.store.tags[i] for i in tag.parent_ids if i in ctx.store.tags]


@resolves("Tag", "children")
def tag_children(tag, ctx):
    return _children_index(ctx.store).get(tag.id, [])


@resolves("Tag", "parent_count")
def tag_parent_count(tag, ctx):
    return len(tag.parent_ids)


@resolves("Tag", "child_count")
def tag_child_count(tag, ctx):
    return len(_children_index(ctx.store).get(tag.id, []))


@resolves("Studio", "parent_studio")
def studio_parent(studio, ctx):
    return ctx.store.studios.get(studio.parent_id) if studio.parent_id is not None else None


@resolves("Studio", "child_studios")
def studio_children(studio, ctx):
    return [s for s in ctx.store.studios.values() if s.parent_id == studio.id]


def _image_path(kind):
    return lambda entity, ctx: f"{ctx.base_url}/{kind}/{entity.id}/image"


for _type, _kind in (("Tag", "tag"), ("Performer", "performer"), ("Studio", "studio")):
    FIELDS[(_type, "image_path")] = _image_path(_kind)
