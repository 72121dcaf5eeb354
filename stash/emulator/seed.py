"""Deterministic libraries for the emulator: `seed_library(store, scenes=N, seed=S)` for tests and
benchmarks (100,000 scenes in a few seconds), `seed_demo(store)` for demo mode (a small library with
readable names).

What a seeded library looks like: tags (a fifth with a parent tag), performers, studios (a third with a
parent studio); scenes created over the last two years (ids grow with created_at, as in Stash), most
edited since; 1-2 files under /data/... (the primary first) with oshash and md5; 0-3 markers; about three
quarters already generated (cover + phash), a few with only one of the two, a few interactive.
"""

import random
import time
from datetime import UTC, datetime

from stash.emulator.entities import Fingerprint, Performer, Scene, SceneMarker, Studio, Tag, VideoFile

DAY = 86400.0
ADJECTIVES = (
    "Quiet Golden Hidden Northern Silver Wild Early Late Bright Distant Hollow Crimson Gentle Open Lost "
    "Frozen Ancient Urban Coastal Velvet Amber Misty Sunny Secret Endless Little Grand Midnight Spring"
).split()
NOUNS = (
    "Harbor Valley Garden River Forest Lantern Journey Meadow Canyon Island Station Bridge Orchard Summit "
    "Lighthouse Market Village Desert Lagoon Tower Studio Workshop Library Kitchen Festival Voyage Theatre "
    "Horizon Cabin Trail"
).split()
TAG_WORDS = (
    "Outdoor Indoor Interview Behind-the-scenes Travel Cooking Music Dance Nature Wildlife City Night "
    "Sunset Beach Mountain Snow Rain Timelapse Drone Vintage Black-and-white Slow-motion Documentary "
    "Tutorial Review Comedy Drama Sports Art Architecture History Science Technology Family Friends "
    "Festival Concert Workshop Portrait Landscape 4K 1080p VR Short Long Series Pilot Finale Bonus Remastered"
).split()
FIRST = (
    "Alex Sam Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Rowan Harper Emery Finley Sage Reese "
    "Dakota Skyler Blair Elliot Marlowe Noa Kai Luca Mila Iris Theo Nina Oscar Vera"
).split()
LAST = (
    "Rivers Stone Hale Marsh Vale Brooks Lane Frost Wilde Hart Greene Knight Fox Black Gray Moore Reed "
    "Wells Shaw Parks Ford Banks Cross Dale Finch Lark Snow Winter Summers Woods"
).split()
STUDIO_SUFFIXES = ("Studios", "Films", "Media", "Pictures", "Productions", "Works")
CODECS = (("h264", "aac", "mp4"), ("hevc", "aac", "mp4"), ("h264", "mp3", "mkv"), ("vp9", "opus", "webm"))
RESOLUTIONS = ((1920, 1080), (1280, 720), (3840, 2160), (854, 480))


def _formatter(zone):
    """Stash-style time strings from epoch seconds, fast: the zone's offset is looked up once per UTC day
    (every time on the days it changes) and the date prefix formatted once per local day."""
    offsets, prefixes = {}, {}

    def offset_at(ts: int) -> tuple[int, str]:
        seconds = int(datetime.fromtimestamp(ts, UTC).astimezone(zone).utcoffset().total_seconds())
        sign = "-" if seconds < 0 else "+"
        return seconds, "Z" if not seconds else f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) // 60 % 60:02d}"

    def offset(t: int) -> tuple[int, str]:
        day = t // 86400
        entry = offsets.get(day)
        if entry is None:
            first, last = offset_at(day * 86400), offset_at(day * 86400 + 86399)
            entry = offsets[day] = first if first == last else False
        return offset_at(t) if entry is False else entry  # False: the offset changes that day (DST)

    def fmt(ts: float) -> str:
        t = int(ts)
        seconds, text = offset(t)
        local_day, rest = divmod(t + seconds, 86400)
        prefix = prefixes.get(local_day)
        if prefix is None:
            prefix = prefixes[local_day] = time.strftime("%Y-%m-%dT", time.gmtime(local_day * 86400))
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}{text}"

    return fmt


def _slug(text: str) -> str:
    """Generated names are words and spaces: a lower-case, dash-joined path segment."""
    return text.lower().replace(" ", "-")


def seed_library(store, scenes: int = 1000, seed: int = 1, *, titles=None, tags=None, performers=None, studios=None):
    """Fill `store` with a generated library (added to what is there). Same arguments, same library
    (relative to the store's clock)."""
    rng = random.Random(seed)
    fmt = _formatter(store.zone)
    now = store.now().timestamp()
    with store.lock:
        store.__dict__.setdefault("studio_slugs", {})
        tag_ids = _seed_tags(store, rng, fmt, now, tags or _tag_names(rng, max(20, min(400, scenes // 250))))
        performer_ids = _seed_performers(store, rng, fmt, now, performers or max(10, min(4000, scenes // 25)))
        studio_ids = _seed_studios(store, rng, fmt, now, studios or max(5, min(700, scenes // 150)))
        created = sorted(now - rng.uniform(0, 730 * DAY) for _ in range(scenes))
        for index, created_ts in enumerate(created):
            title = titles[index % len(titles)] if titles else _title(rng)
            _seed_scene(store, rng, fmt, now, created_ts, title, tag_ids, performer_ids, studio_ids)
        store.touch("scene", "marker", "tag", "performer", "studio")
    return store


def seed_demo(store, scenes: int = 60, seed: int = 7):
    """The demo library: readable titles, tags, performers and studios."""
    rng = random.Random(seed)
    titles = [f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}" for _ in range(scenes)]
    return seed_library(store, scenes=scenes, seed=seed, titles=titles, tags=TAG_WORDS[:24], performers=16, studios=6)


def _tag_names(rng, count: int) -> list[str]:
    names = list(TAG_WORDS)
    while len(names) < count:
        names.append(f"{rng.choice(ADJECTIVES)} {rng.choice(TAG_WORDS)} {len(names)}")
    return names[:count]


def _seed_tags(store, rng, fmt, now, names) -> list[int]:
    ids = []
    for name in names:
        created = fmt(now - rng.uniform(730 * DAY, 900 * DAY))
        tag = Tag(id=store.new_id("tag"), name=name, created_at=created, updated_at=created)
        if ids and rng.random() < 0.2:
            tag.parent_ids = [rng.choice(ids)]  # parents always older: no cycles
        if rng.random() < 0.15:
            tag.aliases = [name.lower().replace("-", " ")]
        tag.favorite = rng.random() < 0.1
        store.tags[tag.id] = tag
        ids.append(tag.id)
    return ids


def _seed_performers(store, rng, fmt, now, count: int) -> list[int]:
    ids, seen = [], {}
    genders = ("FEMALE", "MALE", "NON_BINARY", None)
    for _ in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        seen[name] = seen.get(name, 0) + 1
        created = fmt(now - rng.uniform(0, 900 * DAY))
        performer = Performer(
            id=store.new_id("performer"),
            name=name,
            created_at=created,
            updated_at=created,
            disambiguation=f"#{seen[name]}" if seen[name] > 1 else "",
            gender=rng.choice(genders),
            birthdate=f"{rng.randint(1960, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < 0.6
            else None,
            country=rng.choice(("US", "GB", "FR", "DE", "JP", "BR", "")),
            favorite=rng.random() < 0.1,
            rating100=rng.choice((None, None, 60, 80, 100)),
        )
        store.performers[performer.id] = performer
        ids.append(performer.id)
    return ids


def _seed_studios(store, rng, fmt, now, count: int) -> list[int]:
    ids, taken = [], {s.name for s in store.studios.values()}
    for index in range(count):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(STUDIO_SUFFIXES)}"
        if name in taken:
            name = f"{name} {index}"
        taken.add(name)
        created = fmt(now - rng.uniform(700 * DAY, 900 * DAY))
        studio = Studio(id=store.new_id("studio"), name=name, created_at=created, updated_at=created)
        if ids and rng.random() < 0.33:
            studio.parent_id = rng.choice(ids)
        studio.urls = [f"https://{_slug(name)}.example"] if rng.random() < 0.5 else []
        store.studios[studio.id] = studio
        store.studio_slugs[studio.id] = _slug(name)
        ids.append(studio.id)
    return ids


def _title(rng) -> str:
    r = rng.random
    return f"{_pick(r, ADJECTIVES)} {_pick(r, NOUNS)} {1 + int(r() * 99)}"


def _pick(r, seq):
    return seq[int(r() * len(seq))]


def _some(r, seq, most: int) -> list:
    """0..most distinct items of seq, sorted (relation lists are kept in id order)."""
    return sorted({seq[int(r() * len(seq))] for _ in range(int(r() * (most + 1)))})


def _seed_scene(store, rng, fmt, now, created_ts, title, tag_ids, performer_ids, studio_ids):
    # random() with index arithmetic rather than choice()/sample(): seeding 100,000 scenes must take seconds.
    r = rng.random
    created = fmt(created_ts)
    updated = fmt(created_ts + r() * (now - created_ts)) if r() < 0.6 else created
    scene = Scene(id=store.new_id("scene"), created_at=created, updated_at=updated, title=title)
    scene.studio_id = _pick(r, studio_ids) if r() < 0.8 else None
    scene.performer_ids = _some(r, performer_ids, 3)
    scene.tag_ids = _some(r, tag_ids, 6)
    scene.date = time.strftime("%Y-%m-%d", time.gmtime(created_ts - r() * 400 * DAY))
    slug = _slug(title)
    if r() < 0.3:
        scene.code = f"{slug[:3].upper()}-{100 + int(r() * 900)}"
    if r() < 0.4:
        scene.details = f"A {title.lower()} recorded on location."
    if r() < 0.2:
        scene.director = f"{_pick(r, FIRST)} {_pick(r, LAST)}"
    if r() < 0.5:
        scene.urls = [f"https://videos.example/{scene.id}"]
    scene.rating100 = _pick(r, (None, None, 20, 40, 60, 80, 100))
    scene.organized = r() < 0.3
    scene.interactive = r() < 0.03
    generated = r()
    scene.has_cover = generated < 0.8
    phash = generated < 0.75 or 0.8 <= generated < 0.83
    if scene.interactive and generated < 0.75:
        scene.interactive_speed, scene.has_heatmap = 50 + int(r() * 250), True
    folder = store.studio_slugs.get(scene.studio_id, "misc")
    duration = round(60 + r() * 3540, 2)
    stem = f"/data/{folder}/{slug}-{scene.id}"
    _seed_file(store, r, scene, stem, created, duration, phash)
    if r() < 0.1:
        _seed_file(store, r, scene, stem + "-1", created, duration, phash)
    store.scenes[scene.id] = scene
    for _ in range(_pick(r, (0, 0, 1, 1, 2, 3))):
        _seed_marker(store, r, fmt, now, scene, created_ts, duration, tag_ids)


def _seed_file(store, r, scene, stem, created, duration, phash):
    video, audio, container = _pick(r, CODECS)
    width, height = _pick(r, RESOLUTIONS)
    path = f"{stem}.{container}"
    bit_rate = 1_000_000 + int(r() * 11_000_000)
    file = VideoFile(
        id=store.new_id("file"),
        path=path,
        basename=path.rsplit("/", 1)[-1],
        size=int(duration * bit_rate / 8),
        mod_time=created,  # as scanned: the file is as old as its scene
        created_at=created,
        updated_at=created,
        duration=duration,
        video_codec=video,
        audio_codec=audio,
        width=width,
        height=height,
        frame_rate=_pick(r, (23.976, 25.0, 29.97, 30.0, 60.0)),
        bit_rate=bit_rate,
        format=container,
    )
    hexes = f"{int(r() * 2**53):014x}{int(r() * 2**53):014x}{int(r() * 2**53):014x}"
    prints = [Fingerprint("oshash", hexes[:16]), Fingerprint("md5", hexes[10:42])]
    if phash:
        prints.append(Fingerprint("phash", hexes[-16:]))
    file.fingerprints = prints
    scene.files.append(file)
    store.files_by_path[path] = scene.id


MARKER_TITLES = ("Intro", "Highlight", "Chapter", "Scene change", "Credits", "")


def _seed_marker(store, r, fmt, now, scene, created_ts, duration, tag_ids):
    stamp = fmt(created_ts + r() * (now - created_ts))
    seconds = round(r() * duration, 3)
    marker = SceneMarker(
        id=store.new_id("marker"),
        scene_id=scene.id,
        title=_pick(r, MARKER_TITLES),
        seconds=seconds,
        primary_tag_id=_pick(r, tag_ids),
        created_at=stamp,
        updated_at=stamp,
        end_seconds=round(seconds + 5 + r() * 55, 3) if r() < 0.3 else None,
        tag_ids=_some(r, tag_ids, 2),
    )
    store.markers[marker.id] = marker
    scene.marker_ids.append(marker.id)
    if len(scene.marker_ids) > 1:
        scene.marker_ids.sort(key=lambda i: (store.markers[i].seconds, i))
