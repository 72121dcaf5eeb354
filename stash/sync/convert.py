"""Turn Stash's GraphQL objects into mirror rows (dicts of column attribute → value; see sync/bulk.py).

Stash's answers are trusted for shape only loosely: any field may be null or missing (older Stash
versions, plugins, hand-edited databases), so every reader here has a default and never raises on a
missing key. An object without a usable id is skipped by the caller.
"""

from datetime import date

from stash.sync.stamps import parse


def stash_id(value) -> int | None:
    """Stash ids are integers sent as strings; anything else is unusable."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def ref_id(obj) -> int | None:
    return stash_id(obj.get("id")) if isinstance(obj, dict) else None


def refs(items) -> list[dict]:
    """The usable {id, name} references in a list that may be null or hold nulls."""
    return [item for item in (items or []) if ref_id(item) is not None]


def named_refs(items) -> list[tuple[int, str]]:
    """(id, name) of the usable {id, name} references in a list that may be null or hold nulls."""
    out = []
    for item in items or ():
        pk = ref_id(item)
        if pk is not None:
            name = item.get("name")
            out.append((pk, "" if name is None else str(name)))
    return out


def text(value, limit: int | None = None) -> str:
    if value is None:
        return ""
    value = str(value)
    return value[:limit] if limit else value


def strings(value) -> list[str]:
    return [str(v) for v in (value or []) if v is not None]


def number(value, kind=float):
    if value is None or isinstance(value, bool):
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def rating(value) -> int | None:
    value = number(value, int)
    return value if value is not None and 0 <= value <= 100 else None


def day(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def tag(data: dict) -> dict:
    return dict(
        id=ref_id(data),
        name=text(data.get("name"), 255) or f"Tag {data.get('id')}",
        description=text(data.get("description")),
        aliases=strings(data.get("aliases")),
        favorite=bool(data.get("favorite")),
        ignore_auto_tag=bool(data.get("ignore_auto_tag")),
        stash_created_at=parse(data.get("created_at")),
        stash_updated_at=parse(data.get("updated_at")),
    )


def performer(data: dict) -> dict:
    return dict(
        id=ref_id(data),
        name=text(data.get("name"), 255) or f"Performer {data.get('id')}",
        disambiguation=text(data.get("disambiguation"), 255),
        gender=text(data.get("gender"), 32),
        urls=strings(data.get("urls")),
        birthdate=text(data.get("birthdate"), 10),
        country=text(data.get("country"), 64),
        favorite=bool(data.get("favorite")),
        rating100=rating(data.get("rating100")),
        details=text(data.get("details")),
        aliases=strings(data.get("alias_list")),
        stash_created_at=parse(data.get("created_at")),
        stash_updated_at=parse(data.get("updated_at")),
    )


def studio(data: dict) -> dict:
    return dict(
        id=ref_id(data),
        name=text(data.get("name"), 255) or f"Studio {data.get('id')}",
        parent_id=ref_id(data.get("parent_studio")),
        urls=strings(data.get("urls")),
        details=text(data.get("details")),
        rating100=rating(data.get("rating100")),
        favorite=bool(data.get("favorite")),
        aliases=strings(data.get("aliases")),
        stash_created_at=parse(data.get("created_at")),
        stash_updated_at=parse(data.get("updated_at")),
    )


def scene(data: dict) -> dict:
    paths = data.get("paths") or {}
    return dict(
        id=ref_id(data),
        title=text(data.get("title"), 500),
        code=text(data.get("code"), 255),
        details=text(data.get("details")),
        director=text(data.get("director"), 255),
        urls=strings(data.get("urls")),
        date=day(data.get("date")),
        rating100=rating(data.get("rating100")),
        organized=bool(data.get("organized")),
        screenshot_url=text(paths.get("screenshot"), 1000),
        studio_id=ref_id(data.get("studio")),
        stash_created_at=parse(data.get("created_at")),
        stash_updated_at=parse(data.get("updated_at")),
    )


def scene_file(data: dict, scene_id: int, position: int) -> dict:
    fingerprints = {
        text(fp.get("type"), 32): text(fp.get("value"))
        for fp in (data.get("fingerprints") or [])
        if isinstance(fp, dict) and fp.get("type")
    }
    return dict(
        id=ref_id(data),
        scene_id=scene_id,
        position=position,
        path=text(data.get("path")),
        basename=text(data.get("basename"), 1000),
        size=number(data.get("size"), int),
        duration=number(data.get("duration")),
        video_codec=text(data.get("video_codec"), 64),
        audio_codec=text(data.get("audio_codec"), 64),
        width=number(data.get("width"), int),
        height=number(data.get("height"), int),
        frame_rate=number(data.get("frame_rate")),
        bit_rate=number(data.get("bit_rate"), int),
        format=text(data.get("format"), 64),
        mod_time=parse(data.get("mod_time")),
        fingerprints=fingerprints,
    )


def marker(data: dict, scene_id: int) -> dict:
    return dict(
        id=ref_id(data),
        scene_id=scene_id,
        title=text(data.get("title"), 500),
        seconds=number(data.get("seconds")) or 0.0,
        end_seconds=number(data.get("end_seconds")),
        primary_tag_id=ref_id(data.get("primary_tag")),
        stash_created_at=parse(data.get("created_at")),
        stash_updated_at=parse(data.get("updated_at")),
    )


def fields_of(model, exclude=("id",)) -> list[str]:
    """Concrete column names to overwrite on upsert (the local flags are never in a mirror update)."""
    local_flags = {"generated", "video_analyzed", "analyzed", "markers_changed_at"}
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.name not in exclude and f.name not in local_flags and not f.many_to_many
    ]
