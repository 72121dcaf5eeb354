"""Incremental sync and the pending check across daylight-saving changes, with Stash in several zones.

Stash stamps `updated_at` with the offset in force and compares the strings: after a fall-back the
repeated hour (`01:20-08:00`) sorts before the first pass of it (`01:50-07:00`)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stash.connection.config import get_client
from stash.models import Scene, SyncCursor
from stash.sync.pending import pending_changes
from stash.sync.run import SyncOptions, SyncRun
from stash.sync.stamps import parse

pytestmark = pytest.mark.django_db(transaction=True)

# A zone per kind of change: an hour (LA), to and from UTC's "Z" (London), half an hour (Lord Howe),
# two hours (Troll).
ZONES = ("America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Antarctica/Troll")


def transition(zone: str, backward: bool) -> tuple[datetime, timedelta]:
    """The first instant of 2026 at which `zone` moves its clocks back (or forward), and by how much."""
    tz, t = ZoneInfo(zone), datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=15)
    while t.year == 2026:
        before, after = t.astimezone(tz).utcoffset(), (t + step).astimezone(tz).utcoffset()
        if before != after and (after < before) == backward:
            return t + step, abs(after - before)
        t += step
    raise AssertionError(f"{zone} has no such change in 2026")


@pytest.fixture
def stash_in(monkeypatch, settings):
    from stash.emulator.seed import seed_library
    from stash.emulator.server import EmulatorServer
    from stash.emulator.store import Store

    servers = []

    def start(zone: str, clock: datetime):
        store = Store(zone=zone)
        store.set_clock(clock.isoformat())
        seed_library(store, scenes=30, seed=5)
        server = EmulatorServer(store)
        server.start()
        servers.append(server)
        monkeypatch.setenv("STASH_URL", server.url)
        settings.STASH_URL, settings.STASH_API_KEY = server.url, ""
        return store

    yield start
    for server in servers:
        server.stop()


def sync(full=False):
    return SyncRun(get_client(), SyncOptions(full=full, page_size=10)).run()


def edit(store, scene_id: int, at: datetime, stamped: datetime | None = None) -> str:
    """Edit a scene "in Stash" at `at` (stamped `stamped` instead, for a commit that lands late)."""
    store.set_clock(at.isoformat())
    values = {"title": f"Edited {scene_id} at {at:%H:%M:%S}"}
    if stamped is not None:
        values["updated_at"] = stamped
    return store.update("scene", scene_id, **values).updated_at


def mirrored(store, ids) -> dict[int, bool]:
    return {i: Scene.objects.get(pk=i).title == store.scenes[i].title for i in ids}


@pytest.mark.parametrize("zone", ZONES)
def test_edits_in_the_repeated_hour_after_a_fall_back_are_found(stash_in, zone):
    change, shift = transition(zone, backward=True)
    store = stash_in(zone, change - timedelta(hours=3))
    sync(full=True)
    first_pass = edit(store, 1, change - shift / 3)
    sync()
    assert SyncCursor.objects.get(name="scenes").watermark == first_pass
    # The same wall-clock times again, in the new offset: earlier strings, later instants.
    repeated = [edit(store, i, change + shift * k / 10) for k, i in enumerate((2, 3, 4), start=1)]
    assert all(stamp < first_pass for stamp in repeated)
    assert pending_changes(get_client()).scenes == 3
    sync()
    assert mirrored(store, (2, 3, 4)) == dict.fromkeys((2, 3, 4), True)
    assert parse(SyncCursor.objects.get(name="scenes").watermark) == parse(repeated[-1])
    assert not pending_changes(get_client()).any  # and nothing is pending forever


@pytest.mark.parametrize("zone", ZONES)
def test_a_late_edit_stamped_before_a_spring_forward_is_found(stash_in, zone):
    change, shift = transition(zone, backward=False)
    store = stash_in(zone, change - timedelta(hours=3))
    sync(full=True)
    edit(store, 1, change + timedelta(seconds=10))
    sync()
    # Stamped 20 s before the change (inside the overlap window) but committed after that sync.
    edit(store, 2, change + timedelta(seconds=20), stamped=change - timedelta(seconds=20))
    edit(store, 3, change + timedelta(minutes=5))
    assert pending_changes(get_client()).scenes == 1  # strictly after the watermark: scene 3
    sync()
    assert mirrored(store, (2, 3)) == {2: True, 3: True}
    assert not pending_changes(get_client()).any


def test_in_normal_hours_an_incremental_sync_rereads_only_the_overlap(stash_in):
    store = stash_in("America/Los_Angeles", datetime(2026, 6, 1, 12, tzinfo=UTC))
    sync(full=True)
    edit(store, 1, datetime(2026, 6, 1, 12, 59, tzinfo=UTC))
    edit(store, 2, datetime(2026, 6, 1, 13, 0, 30, tzinfo=UTC))
    sync()
    edit(store, 3, datetime(2026, 6, 1, 13, 5, tzinfo=UTC))
    # Scene 1 (90 s before the watermark) is outside the 60 s overlap; scene 2 is the watermark itself.
    assert sync().counts["scenes_synced"] == 2
