"""The live path over real processes: daphne, Redis, a daemon host and a WebSocket client."""

import json
import time

import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from daemons import services
from daemons.models import Daemon
from jobs import services as job_services
from stash import plans
from stash.downloads.models import HandledDownload
from tests.conftest import wait_for

pytestmark = pytest.mark.processes


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def open_socket(daphne_server, subscribe, cookie=None, origin=None):
    url = daphne_server.replace("http", "ws") + f"/ws/live/?subscribe={subscribe}"
    headers = {"Cookie": cookie} if cookie else {}
    return connect(url, additional_headers=headers, origin=origin or daphne_server, open_timeout=5)


def receive_until(ws, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no matching message before the deadline")
        message = json.loads(ws.recv(timeout=remaining))
        if predicate(message):
            return message


def read_snapshot(ws) -> list[dict]:
    messages = []
    while (message := json.loads(ws.recv(timeout=5)))["type"] != "snapshot_done":
        messages.append(message)
    return messages


def test_a_new_connection_gets_the_current_state_first(daphne_server, user):
    services.set_status(Daemon.objects.get(name="test").pk, "Checking for work")
    job = job_services.create_job("test", {"steps": 1})
    with open_socket(daphne_server, "daemons,jobs", session_cookie(user)) as ws:
        snapshot = read_snapshot(ws)
    assert snapshot[0] == {"type": "hello", "groups": ["daemons", "jobs"]}
    daemon_state = next(m for m in snapshot if m["type"] == "daemon" and m["daemon"]["name"] == "test")
    assert daemon_state["daemon"]["current_status"] == "Checking for work"
    assert "Checking for work" in daemon_state["html"]["status"]
    job_state = next(m for m in snapshot if m["type"] == "job")
    assert job_state["job"]["id"] == str(job.pk)


def test_a_status_update_from_a_daemon_process_reaches_the_client(daphne_server, user, processes):
    services.update_configuration(
        Daemon.objects.get(name="test"), {"interval_seconds": 0.2, "launch_jobs": False}, partial=True
    )
    with open_socket(daphne_server, "daemons", session_cookie(user)) as ws:
        read_snapshot(ws)
        services.start(Daemon.objects.get(name="test"))
        processes.manage("rundaemon", "test")
        pushed = receive_until(
            ws,
            lambda m: m["type"] == "daemon" and (m["daemon"]["current_status"] or "").startswith("Sleeping for"),
            timeout=30,
        )
    assert pushed["daemon"]["name"] == "test"
    assert pushed["daemon"]["actual_state"] == "running"
    assert "Sleeping for 0.2 seconds" in pushed["html"]["status"]


def test_job_progress_is_pushed_to_the_job_group(daphne_server, user, processes):
    job = job_services.create_job("test", {"steps": 3, "step_seconds": 0.2})
    with open_socket(daphne_server, f"job.{job.pk}", session_cookie(user)) as ws:
        read_snapshot(ws)
        processes.manage("runjobs")
        seen = []
        receive_until(ws, lambda m: seen.append(m["job"]) or m["job"]["status"] == "completed", timeout=30)
    assert [s["processed_items"] for s in seen if s["status"] == "running"][-1] == 3
    assert seen[-1]["progress"] == 100


def test_anonymous_sockets_are_refused(daphne_server):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(daphne_server, "daemons")
    assert refused.value.response.status_code == 403


def test_sockets_from_a_foreign_origin_are_refused(daphne_server, user):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(daphne_server, "daemons", session_cookie(user), origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_ping_gets_pong_and_malformed_messages_close_the_socket(daphne_server, user):
    with open_socket(daphne_server, "bogus%21group,daemons", session_cookie(user)) as ws:
        snapshot = read_snapshot(ws)
        assert snapshot[0]["groups"] == ["daemons"]  # unknown group names are ignored
        ws.send(json.dumps({"type": "subscribe", "group": "job.x"}))  # ignored
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
        ws.send("{not json")
        wait_for(lambda: ws.protocol.close_code is not None or _drained(ws), timeout=5, message="socket closed")
        assert ws.protocol.close_code == 4400


def _drained(ws):
    try:
        ws.recv(timeout=0.1)
    except Exception:
        return True
    return False


def test_plan_and_download_pages_get_pushes_and_a_reconnect_gets_their_snapshot(daphne_server, user):
    plan = plans.create_plan("Live plan")
    plans.add_changes(plan, 1, [{"field": "tags", "action": "add", "proposed_value": "Kiss_AI"}])
    change = plan.changes.get()
    subscribe = f"plans,plan.{plan.pk},downloads"
    with open_socket(daphne_server, subscribe, session_cookie(user)) as ws:
        snapshot = read_snapshot(ws)
        state = next(m for m in snapshot if m["type"] == "plan" and m["plan"]["id"] == plan.pk)
        assert state["plan"]["counts"]["pending"] == 1
        plans.set_change_status(change, "approved")
        rows = receive_until(ws, lambda m: m["type"] == "plan_changes")
        assert rows["changes"] == [{"id": change.pk, "status": "approved"}]

    # Missed while disconnected: the next connection starts from the current state.
    plans.set_change_status(change, "rejected")
    HandledDownload.objects.create(
        torrent_hash="d" * 40,
        torrent_name="Holiday",
        relative_path="Clip.mp4",
        source_path="/dl/Clip.mp4",
        status="failed",
        error="The library is full",
    )
    with open_socket(daphne_server, subscribe, session_cookie(user)) as ws:
        snapshot = read_snapshot(ws)
    assert snapshot[0] == {"type": "hello", "groups": ["plans", f"plan.{plan.pk}", "downloads"]}
    states = [m for m in snapshot if m["type"] == "plan" and m["plan"]["id"] == plan.pk]
    assert len(states) == 2  # for the list and for the plan's page
    assert all(s["plan"]["status"] == "cancelled" and s["plan"]["counts"]["rejected"] == 1 for s in states)
    [download] = [m for m in snapshot if m["type"] == "download"]
    assert download["torrent"] == {"hash": "d" * 40, "problem": True}
    assert "The library is full" in download["html"]["article"]
