"""The emulator's jobsSubscribe over WebSocket (stash/emulator/websocket.py), as Stash's gqlgen serves it:
both transports, authentication on the upgrade or in connection_init, ADD/UPDATE/REMOVE with Stash's
semantics, the update throttle, and sockets cut by a restart."""

import contextlib
import json
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from stash.connection.documents import JOBS_SUBSCRIBE
from stash.emulator import EmulatorServer, Store, seed_library, websocket
from stash.emulator.jobs import UPDATE_THROTTLE_SECONDS

SUBSCRIBE = {"query": JOBS_SUBSCRIBE, "operationName": "JobsSubscribe", "variables": {}}


@pytest.fixture
def emulator():
    store = Store(scan_seconds=0.3, generate_seconds=1.0, api_key="secret")
    seed_library(store, scenes=20, seed=3)
    server = EmulatorServer(store)
    url = server.start()
    yield SimpleNamespace(store=store, url=url, ws=url.replace("http://", "ws://") + "/graphql")
    server.stop()


def socket(emulator, *protocols, key="secret", **kwargs):
    headers = {"ApiKey": key} if key else {}
    return connect(
        emulator.ws,
        subprotocols=list(protocols) or None,
        additional_headers=headers,
        open_timeout=10,
        proxy=None,
        **kwargs,
    )


def send(ws, **message):
    ws.send(json.dumps(message))


def recv(ws, timeout=10.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def generate(emulator, **body) -> str:
    answer = requests.post(f"{emulator.url}/_emulator/generate", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["job_id"]


def events_until_removed(ws, job_id: str, kind="next", timeout=20.0) -> list[tuple[float, dict]]:
    """(receive time, jobsSubscribe payload) of every event of the job, up to its REMOVE."""
    events, deadline = [], time.monotonic() + timeout
    while True:
        message = recv(ws, timeout=deadline - time.monotonic())
        if message["type"] != kind:
            continue
        update = message["payload"]["data"]["jobsSubscribe"]
        if update["job"]["id"] == job_id:
            events.append((time.monotonic(), update))
            if update["type"] == "REMOVE":
                return events


@contextlib.contextmanager
def open_transport_ws(emulator, **kwargs):
    with socket(emulator, "graphql-transport-ws", **kwargs) as ws:
        send(ws, type="connection_init", payload={})
        assert recv(ws) == {"type": "connection_ack"}
        send(ws, id="1", type="subscribe", payload=SUBSCRIBE)
        send(ws, type="ping")
        assert recv(ws) == {"type": "pong"}  # handled in order: the subscription is registered now
        yield ws


def test_graphql_transport_ws_sends_add_updates_and_remove_with_the_final_status(emulator):
    with open_transport_ws(emulator) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        job_id = generate(emulator)
        events = [update for _, update in events_until_removed(ws, job_id)]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ADD" and events[0]["job"]["status"] == "READY"
    assert kinds[-1] == "REMOVE" and events[-1]["job"]["status"] == "FINISHED"
    assert events[-1]["job"]["progress"] == 1 and events[-1]["job"]["endTime"]
    updates = [e["job"] for e in events if e["type"] == "UPDATE"]
    assert updates[0]["status"] == "RUNNING"
    progress = [u["progress"] for u in updates if u["progress"] is not None]
    assert len(progress) >= 3 and progress == sorted(progress)
    # No UPDATE carries a final status: Stash reports the end only with REMOVE.
    assert {u["status"] for u in updates} <= {"RUNNING"}
    assert set(events[0]["job"]) == {
        "id",
        "status",
        "subTasks",
        "description",
        "progress",
        "startTime",
        "endTime",
        "addTime",
        "error",
    }


def test_progress_updates_are_throttled_per_job(emulator):
    with open_transport_ws(emulator) as ws:
        job_id = generate(emulator)
        events = events_until_removed(ws, job_id)
    progress_times = [t for t, e in events if e["type"] == "UPDATE" and e["job"]["progress"] is not None]
    gaps = sorted(b - a for a, b in zip(progress_times, progress_times[1:], strict=False))
    # The emulator's jobs move every 50 ms (20 changes a second); Stash sends at most one update per job
    # per 100 ms. Receive times jitter on a loaded machine, so the count and the median gap are checked,
    # not the smallest gap.
    assert len(progress_times) <= 1.0 / UPDATE_THROTTLE_SECONDS + 3
    assert len(gaps) >= 4 and gaps[len(gaps) // 2] >= UPDATE_THROTTLE_SECONDS * 0.9
    # The last progress before the end is not held back: the throttled send comes when the window closes.
    assert events[-2][1]["job"]["progress"] > 0.8


def test_a_ready_job_stopped_is_removed_cancelled_and_a_running_one_ends_cancelled(emulator):
    # As Stash's manager: a stop sends no event by itself (cancel() only sets STOPPING, which a later
    # progress UPDATE would carry); the READY job leaves at once, the running one when its task notices.
    requests.post(f"{emulator.url}/_emulator/durations", json={"generate_seconds": 5}, timeout=10).raise_for_status()
    seen = {}

    def read_until(done):
        while not done():
            update = recv(ws)["payload"]["data"]["jobsSubscribe"]
            seen.setdefault(update["job"]["id"], []).append(f"{update['type']} {update['job']['status']}")

    with open_transport_ws(emulator) as ws:
        running = generate(emulator)
        waiting = generate(emulator)
        read_until(lambda: "UPDATE RUNNING" in seen.get(running, []))
        before_stop = len(seen[running])
        for job_id in (waiting, running):
            body = {"query": "mutation S($id: ID!) { stopJob(job_id: $id) }", "variables": {"id": job_id}}
            answer = requests.post(f"{emulator.url}/graphql", json=body, headers={"ApiKey": "secret"}, timeout=10)
            answer.raise_for_status()
        read_until(lambda: seen[running][-1] == "REMOVE CANCELLED" and seen[waiting][-1] == "REMOVE CANCELLED")
    assert seen[waiting] == ["ADD READY", "REMOVE CANCELLED"]
    after_stop = seen[running][before_stop:]
    assert after_stop[-1] == "REMOVE CANCELLED"
    assert set(after_stop[:-1]) <= {"UPDATE RUNNING", "UPDATE STOPPING"}  # progress sent before it noticed


def test_the_older_graphql_ws_protocol_start_data_stop(emulator):
    with socket(emulator, "graphql-ws") as ws:
        assert ws.subprotocol == "graphql-ws"
        send(ws, type="connection_init", payload={})
        assert recv(ws) == {"type": "connection_ack"}
        assert recv(ws) == {"type": "ka"}
        send(ws, id="7", type="start", payload=SUBSCRIBE)
        time.sleep(0.2)  # graphql-ws has no barrier after start (no client ping): let it register
        job_id = generate(emulator)
        events = [update for _, update in events_until_removed(ws, job_id, kind="data")]
        assert events[0]["type"] == "ADD" and events[-1]["type"] == "REMOVE"
        send(ws, id="7", type="stop")
        assert recv(ws) == {"type": "complete", "id": "7"}


def test_graphql_ws_gets_a_keep_alive_every_interval_and_transport_ws_none(emulator, monkeypatch):
    # Stash's gqlgen transport: KeepAlivePingInterval 10 s, which only graphql-ws uses (a ka message).
    monkeypatch.setattr(websocket, "KEEPALIVE_SECONDS", 0.2)
    with socket(emulator, "graphql-ws") as ws:
        send(ws, type="connection_init", payload={})
        assert [recv(ws) for _ in range(4)] == [{"type": "connection_ack"}] + [{"type": "ka"}] * 3
    with socket(emulator, "graphql-transport-ws") as ws:
        send(ws, type="connection_init", payload={})
        assert recv(ws) == {"type": "connection_ack"}
        with pytest.raises(TimeoutError):
            recv(ws, timeout=0.7)


def test_an_older_stash_speaks_graphql_ws_only(emulator):
    emulator.store.knobs = replace(emulator.store.knobs, legacy_subscriptions_only=True)
    with socket(emulator, "graphql-transport-ws", "graphql-ws") as ws:
        assert ws.subprotocol == "graphql-ws"


def test_a_client_naming_no_subprotocol_gets_graphql_ws_as_from_gqlgen(emulator):
    with socket(emulator) as ws:
        assert ws.subprotocol is None
        send(ws, type="connection_init")
        assert recv(ws) == {"type": "connection_ack"}
        assert recv(ws) == {"type": "ka"}


def test_a_wrong_key_is_refused_before_the_upgrade(emulator):
    with pytest.raises(InvalidStatus) as refused, socket(emulator, "graphql-transport-ws", key="wrong"):
        pass
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_no_key_at_all_is_refused_at_connection_init(emulator, protocol):
    with socket(emulator, protocol, key="") as ws:
        send(ws, type="connection_init", payload={})
        if protocol == "graphql-ws":
            assert recv(ws)["type"] == "connection_error"
        with pytest.raises(ConnectionClosed) as closed:
            recv(ws)
    if protocol == "graphql-transport-ws":
        assert closed.value.rcvd.code == 4403


def test_the_key_may_come_in_connection_init_instead(emulator):
    with socket(emulator, "graphql-transport-ws", key="") as ws:
        send(ws, type="connection_init", payload={"ApiKey": "secret"})
        assert recv(ws) == {"type": "connection_ack"}


def test_subscribe_before_the_ack_closes_4401_and_a_bad_document_gets_an_error(emulator):
    with socket(emulator, "graphql-transport-ws") as ws:
        send(ws, id="1", type="subscribe", payload=SUBSCRIBE)
        with pytest.raises(ConnectionClosed) as closed:
            recv(ws)
        assert closed.value.rcvd.code == 4401
    with socket(emulator, "graphql-transport-ws") as ws:
        send(ws, type="connection_init")
        recv(ws)
        send(ws, id="2", type="subscribe", payload={"query": "subscription { jobsSubscribe { nope } }"})
        message = recv(ws)
        assert message["type"] == "error" and message["id"] == "2"
        assert "nope" in message["payload"][0]["message"]


def test_http_post_of_a_subscription_is_refused(emulator):
    answer = requests.post(f"{emulator.url}/graphql", json=SUBSCRIBE, headers={"ApiKey": "secret"}, timeout=10)
    assert answer.status_code == 422


def test_a_restart_and_the_drop_control_cut_the_sockets(emulator):
    for control in ("restart", "drop-subscriptions"):
        with open_transport_ws(emulator) as ws:
            requests.post(f"{emulator.url}/_emulator/{control}", json={}, timeout=10).raise_for_status()
            with pytest.raises(ConnectionClosed):
                recv(ws)


def test_upgrades_can_be_refused_like_behind_a_proxy_that_passes_none(emulator):
    requests.post(f"{emulator.url}/_emulator/subscriptions", json={"refuse": True}, timeout=10).raise_for_status()
    with pytest.raises(InvalidStatus) as refused, socket(emulator, "graphql-transport-ws"):
        pass
    assert refused.value.response.status_code == 400
    answer = requests.post(f"{emulator.url}/_emulator/subscriptions", json={"refuse": "yes"}, timeout=10)
    assert answer.status_code == 400
