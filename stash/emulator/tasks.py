"""What metadataScan and metadataGenerate do to the library, item by item (jobs.py paces them).

A task's `prepare(store)` is the counting phase and returns how many items there are; `apply(store, i)`
does item i and returns the sub-task line Stash would show. Both run on the job worker thread; disk work
happens outside the store lock.
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
from datetime import UTC, datetime

from stash.emulator.entities import VIDEO_EXTENSIONS

OSHASH_CHUNK = 64 * 1024


def oshash(path: str, size: int) -> str:
    """The OpenSubtitles hash Stash fingerprints files with: size plus the 64-bit little-endian words of
    the first and last 64 KiB."""
    total = size
    with open(path, "rb") as fh:
        head = fh.read(OSHASH_CHUNK)
        fh.seek(max(0, size - OSHASH_CHUNK))
        tail = fh.read(OSHASH_CHUNK)
    for chunk in (head, tail):
        chunk += b"\0" * (-len(chunk) % 8)
        total += sum(struct.unpack(f"<{len(chunk) // 8}Q", chunk))
    return f"{total & 0xFFFFFFFFFFFFFFFF:016x}"


def fake_phash(seed: str) -> str:
    """A stable 64-bit perceptual-hash stand-in (Stash stores phashes as 16 hex digits)."""
    return hashlib.blake2b(seed.encode(), digest_size=8).hexdigest()


def probe(path: str) -> dict:
    """Video attributes from ffprobe when it is installed; format only otherwise."""
    attrs = {"format": os.path.splitext(path)[1].lstrip(".").lower()}
    ffprobe = shutil.which("ffprobe")
    if not ffprobe:
        return attrs
    try:
        out = subprocess.run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
            capture_output=True,
            timeout=15,
            check=True,
        ).stdout
        info = json.loads(out or b"{}")
    except (OSError, subprocess.SubprocessError, ValueError):
        return attrs
    fmt = info.get("format", {})
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), {})
    audio = next((s for s in info.get("streams", []) if s.get("codec_type") == "audio"), {})
    num, _, den = (video.get("avg_frame_rate") or "0/1").partition("/")
    try:
        frame_rate = round(float(num) / float(den or 1), 2) if float(den or 1) else 0.0
        attrs.update(
            duration=round(float(fmt.get("duration") or 0), 2),
            bit_rate=int(fmt.get("bit_rate") or 0),
            width=int(video.get("width") or 0),
            height=int(video.get("height") or 0),
            frame_rate=frame_rate,
        )
    except ValueError:
        pass
    attrs.update(video_codec=video.get("codec_name", ""), audio_codec=audio.get("codec_name", ""))
    return attrs


def _inside_any(path: str, roots) -> bool:
    path = os.path.normpath(path)
    return any(path == os.path.normpath(r) or path.startswith(os.path.normpath(r).rstrip("/") + "/") for r in roots)


def _walk(root: str):
    if os.path.isfile(root):
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(folder, name)


class ScanTask:
    """Walk the given paths (else the library paths) on the real disk. A video file not yet known becomes
    a new scene; a known one is read again only when its size or modification time changed, or on
    `rescan`. Covers and phashes are made at once when the input asks for them, as Stash's scan does."""

    description = "Scanning..."

    def __init__(self, options: dict):
        self.paths = list(options.get("paths") or [])
        self.rescan = bool(options.get("rescan"))
        self.covers = bool(options.get("scanGenerateCovers"))
        self.phashes = bool(options.get("scanGeneratePhashes"))
        self.files: list[str] = []

    def duration(self, knobs) -> float:
        return knobs.scan_seconds

    def prepare(self, store) -> int:
        roots = self.paths or list(store.library_paths)
        if store.library_paths:
            # Like Stash, never crawl outside the library folders (a scan of "/" crawled the machine).
            roots = [root for root in roots if _inside_any(root, store.library_paths)]
        found = []
        for root in roots:
            found.extend(p for p in _walk(root) if os.path.splitext(p)[1].lower() in VIDEO_EXTENSIONS)
        self.files = sorted(set(found))
        return len(self.files)

    def apply(self, store, index: int) -> str:
        path = self.files[index]
        try:
            stat = os.stat(path)
        except OSError:
            return f"{path}: gone"
        mod_time = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        with store.lock:
            scene_id = store.files_by_path.get(path)
            known = store.scenes.get(scene_id) if scene_id else None
            file = next((f for f in known.files if f.path == path), None) if known else None
            if file and not self.rescan and file.size == stat.st_size and file.mod_time == store.time_string(mod_time):
                return f"Scanning {path}"
        attrs = probe(path)
        fingerprint = oshash(path, stat.st_size) if stat.st_size else "0" * 16
        with store.lock:
            if file is not None:
                self._update(store, known, file, stat.st_size, mod_time, attrs, fingerprint)
            elif path not in store.files_by_path:
                self._create(store, path, stat.st_size, mod_time, attrs, fingerprint)
        return f"Scanning {path}"

    def _create(self, store, path, size, mod_time, attrs, fingerprint):
        scene = store.create("scene", has_cover=self.covers)
        prints = {"oshash": fingerprint}
        if self.phashes:
            prints["phash"] = fake_phash(fingerprint)
        store.add_file(scene, path, size=size, mod_time=mod_time, fingerprints=prints, **attrs)
        store.note("info", f"scan: new scene {scene.id} for {path}")

    def _update(self, store, scene, file, size, mod_time, attrs, fingerprint):
        changed = file.size != size or file.mod_time != store.time_string(mod_time)
        changed = changed or file.fingerprint("oshash") != fingerprint
        changed = changed or any(getattr(file, k) != v for k, v in attrs.items())
        if not changed:
            return
        for name, value in attrs.items():
            setattr(file, name, value)
        file.size, file.mod_time, file.updated_at = size, store.time_string(mod_time), store.now_str()
        file.set_fingerprint("oshash", fingerprint)
        scene.updated_at = store.now_str()
        store.touch("scene")
        store.note("info", f"scan: updated file {file.path} of scene {scene.id}")


class GenerateTask:
    """Make covers, phashes and (for interactive scenes) heatmaps/speeds for the scenes in scope: the
    given sceneIDs, else every scene. A scene listed in the `failing_generation` knob is skipped with an
    error in the log while the job still finishes, as Stash logs a per-file error and carries on."""

    description = "Generating..."

    def __init__(self, options: dict):
        self.options = options
        self.scene_ids: list[int] = []

    def duration(self, knobs) -> float:
        return knobs.generate_seconds

    def prepare(self, store) -> int:
        with store.lock:
            wanted = self.options.get("sceneIDs")
            if wanted is None:
                self.scene_ids = sorted(store.scenes)
            else:
                self.scene_ids = sorted({int(i) for i in wanted if int(i) in store.scenes})
        return len(self.scene_ids)

    def apply(self, store, index: int) -> str:
        opts = self.options
        overwrite = bool(opts.get("overwrite"))
        with store.lock:
            scene = store.scenes.get(self.scene_ids[index])
            if scene is None or not scene.files:
                return ""
            path = scene.files[0].path
            if scene.id in store.knobs.failing_generation:
                store.note("error", f"generate: error generating for {path}: emulated failure (scene {scene.id})")
                return f"Generating for {path}"
            if opts.get("covers") and (overwrite or not scene.has_cover):
                scene.has_cover = True
                scene.updated_at = store.now_str()  # Stash saves the cover with a scene update
            if opts.get("phashes"):
                for file in scene.files:
                    if overwrite or file.fingerprint("phash") is None:
                        file.set_fingerprint("phash", fake_phash(file.fingerprint("oshash") or file.path))
            if opts.get("interactiveHeatmapsSpeeds") and scene.interactive:
                scene.has_heatmap = True
                if scene.interactive_speed is None or overwrite:
                    scene.interactive_speed = 50 + int(fake_phash(path)[:4], 16) % 250
            store.touch("scene")
        return f"Generating for {path}"
