"""Following a job in Stash's queue (stash/connection/follow.py) through its job events, against the
emulator over real HTTP and WebSocket: events are used, a refused subscription falls back to polling, and
after a drop the follower reconnects and reads the job again, so no end is missed."""

import threading
import time

import pytest

from stash.connection.client import StashClient
from stash.connection.follow import Follow, StashJobLost, StashJobStopped, follow_stash_job, identify
from stash.connection.subscription import OPEN, JobEvents
from stash.emulator import websocket as emulator_websocket
from tests.conftest import wait_for

# Polls so rare that a test finishing in seconds proves it did not wait for one.
NO_POLLS = {"poll_seconds": 120.0, "live_poll_seconds": 120.0, "reconnect_seconds": 0.2}


class Follower:
    """follow_stash_job on a thread, recording its progress reports and how it ended."""

    def __init__(self, client, stash_job_id, settings: Follow, should_stop=lambda: False):
        self.reports: list[tuple[float | None, str]] = []
        self.result = self.error = None
        self.done = threading.Event()
        identity = identify(client, stash_job_id)

        def run():
            try:
                self.result = follow_stash_job(
                    client,
                    stash_job_id,
                    identity=identity,
                    label="Test",
                    on_progress=lambda percent, message: self.reports.append((percent, message)),
                    should_stop=should_stop,
                    settings=settings,
                )
            except Exception as exc:
                self.error = exc
            finally:
                self.done.set()

        threading.Thread(target=run, daemon=True).start()

    def wait(self, timeout=30.0):
        assert self.done.wait(timeout), "the follower did not end"
        return self


@pytest.fixture
def client(stash_emulator):
    return StashClient(stash_emulator.url)


def start_generate(stash_emulator, client, seconds: float) -> str:
    stash_emulator.control("durations", {"generate_seconds": seconds})
    return client.metadata_generate({"covers": True})


def test_events_bring_progress_and_the_end_without_polling(stash_emulator, client):
    job_id = start_generate(stash_emulator, client, 2.0)
    began = time.monotonic()
    follower = Follower(client, job_id, Follow(**NO_POLLS)).wait()
    assert follower.error is None, follower.error
    assert follower.result["status"] == "FINISHED"
    assert time.monotonic() - began < 60  # far from the 120 s poll
    percents = [p for p, _ in follower.reports if p is not None]
    assert len(set(percents)) >= 4 and percents[-1] == 100.0


def test_events_over_the_older_graphql_ws_protocol_with_its_keep_alives(stash_emulator, client, monkeypatch):
    # An older Stash speaks only graphql-ws and sends a ka every interval (10 s; here every 50 ms): the
    # follower still gets its events (no poll is due for 120 s) and ignores the keep-alives.
    monkeypatch.setattr(emulator_websocket, "KEEPALIVE_SECONDS", 0.05)
    stash_emulator.control("subscriptions", {"refuse": False, "legacy_only": True})
    job_id = start_generate(stash_emulator, client, 2.0)
    began = time.monotonic()
    follower = Follower(client, job_id, Follow(**NO_POLLS)).wait()
    assert follower.error is None, follower.error
    assert follower.result["status"] == "FINISHED"
    assert time.monotonic() - began < 60
    assert len({p for p, _ in follower.reports if p is not None}) >= 4


def test_a_refused_subscription_falls_back_to_polling(stash_emulator, client):
    stash_emulator.control("subscriptions", {"refuse": True})
    job_id = start_generate(stash_emulator, client, 1.0)
    follower = Follower(client, job_id, Follow(poll_seconds=0.2, reconnect_seconds=0.2)).wait()
    assert follower.error is None, follower.error
    assert follower.result["status"] == "FINISHED"
    assert follower.reports[-1] == (100.0, "Test: finished")


def test_a_drop_mid_job_reconnects_and_reads_again_so_the_end_is_not_missed(stash_emulator, client):
    job_id = start_generate(stash_emulator, client, 3.0)
    follower = Follower(client, job_id, Follow(**NO_POLLS))
    wait_for(lambda: any(p and 0 < p < 100 for p, _ in follower.reports), 20, message="progress from events")
    # The socket is cut and cannot come back until the job has ended: its REMOVE is never sent to us.
    stash_emulator.control("subscriptions", {"refuse": True})
    assert stash_emulator.control("drop-subscriptions")["dropped"] == 1
    wait_for(lambda: stash_emulator.store.jobs.find(int(job_id)).status == "FINISHED", 20, message="the job's end")
    assert not follower.done.is_set()
    stash_emulator.control("subscriptions", {"refuse": False})
    follower.wait(30)  # the reconnect's reconciliation read sees FINISHED, long before a poll
    assert follower.error is None, follower.error
    assert follower.result["status"] == "FINISHED"


def test_a_restart_of_stash_during_the_job_is_noticed_at_the_reconnect(stash_emulator, client):
    job_id = start_generate(stash_emulator, client, 30.0)
    follower = Follower(client, job_id, Follow(**NO_POLLS))
    wait_for(lambda: follower.reports, 20, message="the follower to start")
    stash_emulator.control("restart")
    follower.wait(30)
    assert isinstance(follower.error, StashJobLost), follower.error


def test_a_stop_request_sends_stop_job_and_the_cancelled_end_comes_by_event(stash_emulator, client):
    job_id = start_generate(stash_emulator, client, 30.0)
    stop = threading.Event()
    follower = Follower(client, job_id, Follow(**NO_POLLS), should_stop=stop.is_set)
    wait_for(lambda: any(p and p > 0 for p, _ in follower.reports), 20, message="the job to run")
    stop.set()
    follower.wait(30)
    assert isinstance(follower.error, StashJobStopped) and follower.error.by_us
    assert stash_emulator.store.jobs.find(int(job_id)).status == "CANCELLED"


def test_job_events_report_open_after_every_reconnect(stash_emulator, client):
    with JobEvents(client, retry_first=0.2) as events:
        assert wait_for(lambda: events.get(1.0), 20, message="OPEN").kind == OPEN
        stash_emulator.control("drop-subscriptions")
        kinds = []
        wait_for(lambda: (e := events.get(1.0)) is not None and kinds.append(e.kind) is None and OPEN in kinds, 20)
        assert kinds == ["DOWN", "OPEN"]
        assert events.opened == 2


def test_job_events_send_the_api_key_header(stash_emulator, client):
    stash_emulator.store.api_key = "secret"
    with JobEvents(StashClient(stash_emulator.url, "secret"), retry_first=0.2) as events:
        assert wait_for(lambda: events.get(1.0), 20, message="OPEN").kind == OPEN
    with JobEvents(StashClient(stash_emulator.url, "wrong"), retry_first=0.2) as events:
        wait_for(lambda: events.last_error, 20, message="a refusal")
        assert "401" in events.last_error and not events.live.is_set()


def test_a_stop_requested_while_stash_is_unreachable_waits_for_the_poll_and_gives_up_in_time():
    from stash.connection.errors import StashUnreachable

    class Unreachable:
        reads = 0

        def find_job(self, job_id):
            self.reads += 1
            raise StashUnreachable("Cannot reach Stash at http://stash.invalid: refused")

    client = Unreachable()
    settings = Follow(events=False, poll_seconds=0.2, unreachable_seconds=1.0)
    outcome = {}

    def run():
        try:
            follow_stash_job(
                client,
                "1",
                identity={},
                label="Test",
                on_progress=lambda *a: None,
                should_stop=lambda: True,
                settings=settings,
            )
        except StashUnreachable as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    assert isinstance(outcome.get("error"), StashUnreachable)  # it did not spin waiting to send the stop
    assert 3 <= client.reads <= 20  # one read per poll, not one per loop
