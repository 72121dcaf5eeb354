"""What the Downloads page shows of a torrent: its files and the outcomes of the runs that took it.

The page (views.py) and its live pushes (live.py) build a torrent's group here, so a push renders
exactly what a reload would.
"""

from django.db.models import Max

from stash.downloads.models import FileStatus, HandledDownload, TorrentOutcome, TorrentOutcomeKind

# Outcomes that list a torrent under "Failures only".
PROBLEM_OUTCOMES = [TorrentOutcomeKind.FAILED, TorrentOutcomeKind.RETRY]


def latest_first(*pairs_lists) -> list:
    latest: dict = {}
    for pairs in pairs_lists:
        for key, when in pairs:
            if key is not None and (key not in latest or when > latest[key]):
                latest[key] = when
    return [key for key, _ in sorted(latest.items(), key=lambda item: item[1], reverse=True)]


def torrent_keys(problems: bool) -> list[str]:
    """Torrent hashes, latest activity first (problems: those with a failed file or outcome only)."""
    files = HandledDownload.objects.all()
    outcomes = TorrentOutcome.objects.all()
    if problems:
        files = files.filter(status=FileStatus.FAILED)
        outcomes = outcomes.filter(outcome__in=PROBLEM_OUTCOMES)
    return latest_first(
        files.order_by().values("torrent_hash").annotate(at=Max("updated_at")).values_list("torrent_hash", "at"),
        outcomes.order_by().values("torrent_hash").annotate(at=Max("created_at")).values_list("torrent_hash", "at"),
    )


def torrent_groups(hashes: list[str]) -> list[dict]:
    """[{hash, name, files, outcomes (newest first), latest, problem}] for those of `hashes` with any,
    in their order, in 2 queries."""
    files = HandledDownload.objects.filter(torrent_hash__in=hashes).order_by("relative_path")
    outcomes = TorrentOutcome.objects.filter(torrent_hash__in=hashes).order_by("-created_at", "-id")
    groups = {h: {"hash": h, "name": "", "files": [], "outcomes": []} for h in hashes}
    for outcome in outcomes:
        groups[outcome.torrent_hash]["outcomes"].append(outcome)
    for file in files:
        groups[file.torrent_hash]["files"].append(file)
    for group in groups.values():
        if not group["files"] and not group["outcomes"]:
            continue
        latest = group["outcomes"][0] if group["outcomes"] else None
        group["latest"] = latest
        group["name"] = latest.torrent_name if latest else group["files"][0].torrent_name
        # What the page's "Failures only" view lists (torrent_keys(problems=True)).
        group["problem"] = any(f.status == FileStatus.FAILED for f in group["files"]) or any(
            o.outcome in PROBLEM_OUTCOMES for o in group["outcomes"]
        )
    return [groups[h] for h in hashes if groups[h]["files"] or groups[h]["outcomes"]]
