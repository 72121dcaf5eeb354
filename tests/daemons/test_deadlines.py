"""Every status carries its deadline, and stale means overdue: steps in-process with frozen time.

A step records when the daemon will say something next (`status_next_at`); a running daemon is flagged
stale only once it is DAEMON_STALE_AFTER_SECONDS past that deadline, or when its host's heartbeat is late
— never merely because it sleeps as long as it was told to.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from daemons import services
from daemons.base import PROMISE_FLOOR_SECONDS
from daemons.models import ActualState, Daemon, DesiredState
from daemons.registry import get_kind
from jobs.services import create_job
from orchestrator.durations import human_duration
from stash.connection.config import get_client
from stash.models import Scene
from stash.sync.run import SyncOptions, SyncRun
from tests.pages import card

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION_KINDS = (
    "auto_plan_applier",
    "auto_stash_generation",
    "auto_stash_sync",
    "auto_video_analysis",
    "download_processor",
)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-03-02T10:00:00+00:00", tick=False)
    return time_machine


@pytest.fixture
def idle_library(stash_emulator):
    """A mirror in step with Stash, every scene generated and analysed: the daemons have nothing to do."""
    SyncRun(get_client(), SyncOptions(full=True)).run()
    Scene.objects.update(generated=True, video_analyzed=True)
    return stash_emulator


def subject(name: str, **config):
    row = Daemon.objects.get(name=name)
    return get_kind(row.kind)(row.pk, row.name, {**services.effective_config(row), **config})


def step(daemon) -> float:
    return async_to_sync(daemon.run_step)()


def row(name: str) -> Daemon:
    return Daemon.objects.get(name=name)


def hosts_beat(*names: str):
    """What the hosts of running daemons do every couple of seconds."""
    Daemon.objects.filter(name__in=names).update(
        desired_state=DesiredState.RUNNING,
        actual_state=ActualState.RUNNING,
        lease_owner="host",
        heartbeat_at=timezone.now(),
    )


def stale(*names: str) -> list[str]:
    return [d.name for d in Daemon.objects.filter(name__in=names) if services.is_stale(d)]


def test_a_step_records_its_deadline_as_now_plus_the_wait_it_returns(stash_emulator):
    wait = step(subject("auto_stash_generation"))  # an empty mirror: nothing to generate
    state = row("auto_stash_generation")
    assert wait == 3600
    assert state.status_next_at == timezone.now() + timedelta(seconds=wait)
    assert state.current_status == "All scenes generated, sleeping for 3600 seconds"  # the spec's sentence stays
    assert state.status_level == "waiting"
    assert state.next_check.words == "1 h"


def test_a_wait_for_running_jobs_promises_its_next_look(stash_emulator):
    create_job("test")
    wait = step(subject("auto_stash_generation"))
    state = row("auto_stash_generation")
    assert wait == 5  # it looks again every 5 s (at once when a wake-up says a job ended)
    assert state.status_next_at == timezone.now() + timedelta(seconds=wait)
    assert state.current_status == "Jobs are running, waiting for them to finish (checking again by 11:00)"
    assert state.status_level == "waiting"


def test_a_silent_poll_extends_the_deadline_at_most_once_per_floor(daemon, frozen):
    watcher = subject("test")
    assert step(watcher) == 1.0  # launches a test job and watches it (no worker runs it)
    writes = []
    for _ in range(30):
        frozen.shift(1)
        before = row("test").status_next_at
        step(watcher)
        after = row("test").status_next_at
        assert after >= timezone.now() + timedelta(seconds=1)  # the deadline on record always covers the poll
        writes += [after] if after != before else []
    assert len(writes) <= 30 / PROMISE_FLOOR_SECONDS + 1


def test_a_default_install_left_for_an_hour_is_never_flagged_stale(idle_library, browser, daemon, frozen):
    daemons = {name: subject(name) for name in PRODUCTION_KINDS}
    start = timezone.now()
    due = dict.fromkeys(daemons, start)
    while (now := min(due.values())) <= start + timedelta(hours=1):
        frozen.shift(now - timezone.now())
        hosts_beat(*daemons)
        # The worst moment: a daemon's step is due and has not run yet.
        assert stale(*daemons) == []
        name = min(due, key=due.get)
        due[name] = timezone.now() + timedelta(seconds=step(daemons[name]))
    html = browser.get("/daemons/").content.decode()
    for name in daemons:
        assert 'data-stale="false"' in card(html, name)
    # Every one of them says when it looks again; the download processor warns that it is not configured.
    assert all(row(name).next_check_at for name in daemons)
    assert row("download_processor").status_level == "warning"
    assert row("auto_stash_generation").current_status == "All scenes generated, sleeping for 3600 seconds"


def test_a_daemon_past_its_deadline_plus_the_grace_is_flagged_stale(stash_emulator, frozen, settings):
    step(subject("auto_stash_generation"))  # nothing to generate: sleeps 3600 s
    frozen.shift(3600 + settings.DAEMON_STALE_AFTER_SECONDS - 1)
    hosts_beat("auto_stash_generation")
    assert stale("auto_stash_generation") == []
    frozen.shift(2)
    hosts_beat("auto_stash_generation")
    assert stale("auto_stash_generation") == ["auto_stash_generation"]


def test_a_late_heartbeat_is_flagged_stale_even_before_the_deadline(stash_emulator, frozen, settings):
    create_job("test")
    step(subject("auto_stash_generation"))
    hosts_beat("auto_stash_generation")
    frozen.shift(settings.DAEMON_LEASE_SECONDS + 1)
    assert row("auto_stash_generation").next_check_at > timezone.now()
    assert stale("auto_stash_generation") == ["auto_stash_generation"]


def test_a_stopped_daemon_has_no_deadline_and_is_never_stale(stash_emulator, frozen):
    create_job("test")
    step(subject("auto_stash_generation"))
    services.clear_status(row("auto_stash_generation").pk, actual_state=ActualState.STOPPED)
    state = row("auto_stash_generation")
    assert (state.status_next_at, state.status_level, state.status_link_url) == (None, None, None)
    frozen.shift(86_400)
    assert not services.is_stale(state)


@pytest.mark.parametrize(
    "seconds, said",
    [(0, "0 s"), (44.6, "45 s"), (59.4, "59 s"), (59.6, "1 min"), (240, "4 min"), (3599.9, "1 h"), (3900, "1 h 5 min")],
)
def test_durations_read_as_people_say_them(seconds, said):
    assert human_duration(seconds) == said
