"""What the live Downloads page sees: one payload per torrent, after every write of its files or outcomes.

Group `downloads` (no page groups). Payload: {"type": "download", "torrent": {"hash", "problem"},
"html": {"article": …}}, the torrent's whole article (stash/downloads/_torrent.html, the fragment the
page includes), rebuilt from the database after commit. Processing writes each file's row and each
torrent's outcome through save() (update_or_create, create), so post_save is the only hook; the writes
of one transaction are coalesced per torrent (orchestrator/live/coalesce.py). A torrent has a handful
of files, so re-rendering it per file write stays small.
"""

from django.db.models.signals import post_save

from orchestrator.live import groups, snapshots
from orchestrator.live.coalesce import Coalescer
from orchestrator.live.fragments import render_fragment
from orchestrator.live.groups import LiveGroup
from orchestrator.live.publisher import publish
from stash.downloads.listing import torrent_groups, torrent_keys
from stash.downloads.models import HandledDownload, TorrentOutcome

DOWNLOADS = "downloads"
GROUP = LiveGroup(DOWNLOADS)
# The snapshot: the page's first page of torrents.
SNAPSHOT_LIMIT = 25


def connect():
    groups.register(GROUP)
    snapshots.register(DOWNLOADS, snapshot)
    post_save.connect(_saved, sender=HandledDownload, dispatch_uid="stash.downloads.live.file")
    post_save.connect(_saved, sender=TorrentOutcome, dispatch_uid="stash.downloads.live.outcome")


def torrent_payload(group: dict) -> dict:
    """`group`: an entry of listing.torrent_groups()."""
    return {
        "type": "download",
        "torrent": {"hash": group["hash"], "problem": group["problem"]},
        "html": {"article": render_fragment("stash/downloads/_torrent.html", {"g": group})},
    }


def snapshot(group: str) -> list[dict]:
    """The most recently handled torrents, oldest first: inserted on top one after the other, they end up
    in the page's order."""
    return [torrent_payload(g) for g in reversed(torrent_groups(torrent_keys(False)[:SNAPSHOT_LIMIT]))]


def _flush(torrent_hash: str, noted: set):
    for group in torrent_groups([torrent_hash]):
        publish(DOWNLOADS, torrent_payload(group))


_coalescer = Coalescer(_flush)


def _saved(sender, instance, **kwargs):
    _coalescer.note(instance.torrent_hash)
