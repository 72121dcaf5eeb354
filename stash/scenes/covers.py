"""Scene covers, fetched from Stash through this server and cached on disk.

The browser never talks to Stash: it would need Stash's API key, which stays here. A cover is fetched from
the configured Stash only (the URL is rebuilt from the connection, never taken whole from the mirror, so
the key cannot be sent to a host a synced value names), with Stash's `paths.screenshot` cache-buster
(`?t=…`, it changes when the cover does) in the cache key: a new cover is a new file, the old one ages
out. The cache holds at most COVER_CACHE_MAX_MB; the least recently served files go first.
"""

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from stash.connection.config import effective_connection

log = logging.getLogger(__name__)

# Stash answers covers as JPEG (its own screenshots), PNG/WebP (uploaded), or SVG (its default image).
IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/svg+xml": ".svg",
}
CONTENT_TYPES = {suffix: kind for kind, suffix in IMAGE_TYPES.items()}
MAX_COVER_BYTES = 20 * 1024 * 1024
TIMEOUT = (3.0, 10.0)


@dataclass
class Cover:
    path: Path
    content_type: str
    cached: bool  # served from the disk cache without asking Stash


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "covers"


def _key(scene_id: int, screenshot_url: str) -> str:
    return f"{scene_id}-{hashlib.sha256(screenshot_url.encode()).hexdigest()[:24]}"


def cover(scene_id: int, screenshot_url: str) -> Cover | None:
    """The scene's cover from the cache, else from Stash (then cached); None when Stash has none or can't
    be reached (the caller shows a placeholder)."""
    if not screenshot_url:
        return None
    key = _key(scene_id, screenshot_url)
    for suffix in CONTENT_TYPES:
        path = cache_dir() / f"{key}{suffix}"
        if path.is_file():
            os.utime(path)  # recently served: kept longest when the cache is trimmed
            return Cover(path, CONTENT_TYPES[suffix], cached=True)
    fetched = _fetch(scene_id, screenshot_url)
    if fetched is None:
        return None
    content, content_type = fetched
    path = _store(key, content, IMAGE_TYPES[content_type])
    _trim(settings.COVER_CACHE_MAX_MB * 1024 * 1024, keep=path)
    return Cover(path, content_type, cached=False)


def _fetch(scene_id: int, screenshot_url: str) -> tuple[bytes, str] | None:
    # Imported here, as stash.connection.config does: pages that show no cover need not load requests.
    import requests

    from stash.connection.client import session_for

    connection = effective_connection()
    if not connection.url:
        return None
    query = urlsplit(screenshot_url).query
    url = f"{connection.url.rstrip('/')}/scene/{scene_id}/screenshot" + (f"?{query}" if query else "")
    try:
        response = session_for(connection.url, connection.api_key).get(
            url, timeout=TIMEOUT, headers={"Accept": "image/*"}, stream=True
        )
        with response:
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or content_type not in IMAGE_TYPES:
                log.info("No cover for scene %s: Stash answered %s %s", scene_id, response.status_code, content_type)
                return None
            content = response.raw.read(MAX_COVER_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        log.info("No cover for scene %s: %s", scene_id, exc)
        return None
    if not content or len(content) > MAX_COVER_BYTES:
        return None
    return content, content_type


def _store(key: str, content: bytes, suffix: str) -> Path:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}{suffix}"
    partial = folder / f".{key}.{os.getpid()}.part"
    partial.write_bytes(content)
    os.replace(partial, path)  # readers see the whole file or none
    return path


def _trim(limit: int, *, keep: Path):
    """Delete the least recently served covers until the cache fits `limit` bytes."""
    entries = []
    total = 0
    with os.scandir(cache_dir()) as scan:
        for entry in scan:
            if entry.is_file() and not entry.name.startswith("."):
                stat = entry.stat()
                entries.append((stat.st_mtime, stat.st_size, entry.path))
                total += stat.st_size
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path == str(keep):
            continue
        try:
            os.unlink(path)
            total -= size
        except FileNotFoundError:
            pass
