"""The daemons API: state, configuration updates, control, bulk actions, logs, history and auth."""

import json
import secrets
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from daemons import services
from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState
from daemons.serializers import DaemonSerializer
from jobs.models import Job
from tests.conftest import known_daemons

pytestmark = pytest.mark.django_db

TEST_DEFAULTS = {
    "interval_seconds": 5.0,
    "launch_jobs": True,
    "job_every": 10,
    "job_steps": 5,
    "job_step_seconds": 1.0,
    "log_every": 5,
    "simulate_errors": False,
    "error_every": 20,
    "quiet_hours": "",
}


@pytest.fixture
def alice(db):
    return User.objects.create_user("api-alice", password="correct-horse-battery", is_staff=True)


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def daemon(db):
    services.ensure_daemon_rows()
    return Daemon.objects.get(name="test")


def fresh(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def snapshot(name="test") -> tuple:
    d = fresh(name)
    return (d.configuration, d.auto_start, d.config_version, d.desired_state)


# --- reading ---------------------------------------------------------------------------------------


def test_list_returns_every_daemon_with_state_configuration_schema_and_staleness(api, daemon):
    Daemon.objects.filter(pk=daemon.pk).update(
        actual_state=ActualState.RUNNING,
        current_status="Iteration 3: checking for work",
        status_updated_at=timezone.now() - timedelta(days=1),
        status_next_at=timezone.now() - timedelta(days=1) + timedelta(seconds=5),  # overdue by a day
        status_level="ok",
        status_link_url="/plans/",
        status_link_label="Review plans",
        lease_owner="host",
        heartbeat_at=timezone.now(),
    )
    response = api.get("/api/daemons/")
    assert response.status_code == 200
    [body] = [d for d in response.json() if d["name"] == "test"]
    assert body["current_status"] == "Iteration 3: checking for work"
    assert body["actual_state"] == "running"
    assert body["configuration"] == TEST_DEFAULTS
    assert body["is_stale"] is True
    assert (body["status_level"], body["status_link_url"], body["status_link_label"]) == (
        "ok",
        "/plans/",
        "Review plans",
    )
    assert body["status_next_at"] is not None
    interval = next(f for f in body["config_schema"] if f["name"] == "interval_seconds")
    assert interval["type"] == "number" and interval["min"] == 0.001 and interval["default"] == 5.0
    assert interval["description"] == "Pause between iterations."
    # The documented fields are exactly the keys returned (the schema does not drift from to_state()).
    assert set(body) == set(DaemonSerializer().fields)
    assert {k: v for k, v in body.items() if k in fresh().to_state()} == fresh().to_state()


def test_detail_returns_one_daemon_and_an_unknown_name_is_a_404_naming_the_known_ones(api, daemon):
    response = api.get("/api/daemons/test/")
    assert response.status_code == 200
    assert response.json()["name"] == "test"
    assert response.json()["desired_state"] == "stopped"

    missing = api.get("/api/daemons/nope/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"Unknown daemon 'nope'. Known daemons: {known_daemons()}."}


# --- configuration and auto-start --------------------------------------------------------------------


def test_patch_changes_only_the_given_settings(api, daemon):
    services.update_configuration(daemon, {"job_steps": 7}, partial=True)
    response = api.patch("/api/daemons/test/", {"configuration": {"interval_seconds": 9}}, format="json")
    assert response.status_code == 200
    expected = {**TEST_DEFAULTS, "job_steps": 7, "interval_seconds": 9.0}
    assert response.json()["configuration"] == expected
    assert fresh().configuration == expected


def test_put_replaces_the_whole_configuration_and_missing_settings_take_defaults(api, daemon):
    services.update_configuration(daemon, {"job_steps": 7, "log_every": 0}, partial=True)
    response = api.put("/api/daemons/test/", {"configuration": {"interval_seconds": 3}}, format="json")
    assert response.status_code == 200
    assert fresh().configuration == {**TEST_DEFAULTS, "interval_seconds": 3.0}
    assert response.json()["configuration"] == fresh().configuration


def test_put_requires_a_configuration(api, daemon):
    before = snapshot()
    response = api.put("/api/daemons/test/", {"auto_start": True}, format="json")
    assert response.status_code == 400
    assert "configuration" in response.json()
    assert snapshot() == before


def test_invalid_configuration_is_a_400_with_per_field_errors_and_saves_nothing(api, daemon):
    services.update_configuration(daemon, {"job_steps": 7}, partial=True)
    before = snapshot()
    body = {"configuration": {"interval_seconds": -1, "job_steps": "many", "bogus": 1}, "auto_start": True}
    for method in (api.patch, api.put):
        response = method("/api/daemons/test/", body, format="json")
        assert response.status_code == 400
        errors = response.json()["configuration"]
        assert set(errors) == {"interval_seconds", "job_steps", "bogus"}
        assert errors["interval_seconds"] == ["Must be at least 0.001."]
        assert all(isinstance(messages, list) and messages for messages in errors.values())
        # Not the configuration, and not the auto-start that came in the same request either.
        assert snapshot() == before
        assert fresh().auto_start is False


def test_a_configuration_that_is_not_an_object_is_refused(api, daemon):
    before = snapshot()
    response = api.patch("/api/daemons/test/", {"configuration": [1, 2]}, format="json")
    assert response.status_code == 400
    assert "configuration" in response.json()
    assert snapshot() == before


def test_toggling_auto_start_never_touches_the_configuration(api, daemon):
    services.update_configuration(daemon, {"interval_seconds": 42, "launch_jobs": False}, partial=True)
    configured = fresh()
    response = api.patch("/api/daemons/test/", {"auto_start": True}, format="json")
    assert response.status_code == 200
    assert response.json()["auto_start"] is True
    after = fresh()
    assert after.auto_start is True
    assert after.configuration == configured.configuration
    assert after.configuration["interval_seconds"] == 42.0
    assert after.config_version == configured.config_version

    assert api.patch("/api/daemons/test/", {"auto_start": False}, format="json").status_code == 200
    assert fresh().configuration == configured.configuration
    assert fresh().auto_start is False


def test_configuration_and_auto_start_can_change_together(api, daemon):
    response = api.patch("/api/daemons/test/", {"configuration": {"log_every": 1}, "auto_start": True}, format="json")
    assert response.status_code == 200
    assert fresh().auto_start is True
    assert fresh().configuration == {**TEST_DEFAULTS, "log_every": 1}


def test_unknown_top_level_keys_empty_bodies_and_malformed_json_change_nothing(api, daemon):
    before = snapshot()
    unknown = api.patch("/api/daemons/test/", {"auto_start": True, "enabled": True}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"enabled": ["Unknown field."]}

    empty = api.patch("/api/daemons/test/", {}, format="json")
    assert empty.status_code == 400
    assert empty.json() == {"non_field_errors": ["Give configuration and/or auto_start."]}

    malformed = api.generic(
        "PATCH", "/api/daemons/test/", '{"configuration": {"interval_seconds": 1', content_type="application/json"
    )
    assert malformed.status_code == 400
    assert "JSON parse error" in malformed.json()["detail"]

    wrong_type = api.patch("/api/daemons/test/", {"auto_start": "perhaps"}, format="json")
    assert wrong_type.status_code == 400
    assert "auto_start" in wrong_type.json()
    assert snapshot() == before


def test_a_daemon_whose_kind_is_not_installed_reads_but_refuses_configuration(api, daemon):
    Daemon.objects.create(name="ghost", kind="removed_kind", configuration={"x": 1})
    shown = api.get("/api/daemons/ghost/")
    assert shown.status_code == 200
    assert (shown.json()["configuration"], shown.json()["config_schema"]) == ({"x": 1}, [])
    refused = api.patch("/api/daemons/ghost/", {"configuration": {"x": 2}, "auto_start": True}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"configuration": ["Daemon kind 'removed_kind' is not installed."]}
    ghost = fresh("ghost")
    assert (ghost.configuration, ghost.auto_start) == ({"x": 1}, False)


def test_updating_an_unknown_daemon_is_a_404(api, daemon):
    response = api.patch("/api/daemons/nope/", {"auto_start": True}, format="json")
    assert response.status_code == 404
    assert "Unknown daemon 'nope'" in response.json()["detail"]


# --- start / stop / restart ----------------------------------------------------------------------------


def test_start_stop_and_restart_record_the_desired_state_and_return_the_new_state(api, daemon):
    started = api.post("/api/daemons/test/start/")
    assert started.status_code == 200
    assert started.json()["message"] == "Daemon test start requested"
    assert started.json()["daemon"]["desired_state"] == "running"
    assert fresh().desired_state == DesiredState.RUNNING

    restarts = fresh().restart_requested
    restarted = api.post("/api/daemons/test/restart/")
    assert restarted.status_code == 200
    assert restarted.json()["message"] == "Daemon test restart requested"
    assert fresh().restart_requested == restarts + 1

    stopped = api.post("/api/daemons/test/stop/")
    assert stopped.status_code == 200
    assert stopped.json() == {"message": "Daemon test stop requested", "daemon": DaemonSerializer(fresh()).data}
    assert fresh().desired_state == DesiredState.STOPPED


def test_control_endpoints_refuse_get_and_unknown_daemons(api, daemon):
    for action in ("start", "stop", "restart"):
        assert api.get(f"/api/daemons/test/{action}/").status_code == 405
        missing = api.post(f"/api/daemons/nope/{action}/")
        assert missing.status_code == 404
        assert f"Known daemons: {known_daemons()}" in missing.json()["detail"]
    assert fresh().desired_state == DesiredState.STOPPED


# --- bulk ----------------------------------------------------------------------------------------------------


@pytest.fixture
def fleet(daemon):
    """test: stopped, no auto-start; alpha: stopped, auto-start; beta: running; gamma: running, auto-start."""
    Daemon.objects.create(name="alpha", kind="test", auto_start=True)
    Daemon.objects.create(name="beta", kind="test", desired_state=DesiredState.RUNNING)
    Daemon.objects.create(name="gamma", kind="test", auto_start=True, desired_state=DesiredState.RUNNING)


def desired() -> dict:
    """Desired states of the test daemon and the fleet (the other registered daemons stay stopped)."""
    return dict(Daemon.objects.filter(kind="test").values_list("name", "desired_state"))


def test_start_all_starts_every_stopped_daemon_whatever_its_auto_start(api, fleet):
    stopped = sorted(Daemon.objects.filter(desired_state=DesiredState.STOPPED).values_list("name", flat=True))
    response = api.post("/api/daemons/start-all/")
    assert response.status_code == 200
    assert response.json() == {
        "message": f"Successfully started {len(stopped)} daemons",
        "started_count": len(stopped),
        "daemons": stopped,
    }
    assert "test" in stopped and "alpha" in stopped
    assert set(Daemon.objects.values_list("desired_state", flat=True)) == {DesiredState.RUNNING}

    again = api.post("/api/daemons/start-all/").json()
    assert again["started_count"] == 0 and again["daemons"] == []
    assert again["message"] == "No daemons to start: every daemon is already running."


def test_restart_all_and_stop_all_act_on_the_running_daemons(api, fleet):
    counters = dict(Daemon.objects.values_list("name", "restart_requested"))
    restarted = api.post("/api/daemons/restart-all/")
    assert restarted.status_code == 200
    assert restarted.json() == {
        "message": "Successfully restarted 2 daemons",
        "restarted_count": 2,
        "daemons": ["beta", "gamma"],
    }
    after = dict(Daemon.objects.values_list("name", "restart_requested"))
    assert after == {**counters, "beta": counters["beta"] + 1, "gamma": counters["gamma"] + 1}

    stopped = api.post("/api/daemons/stop-all/")
    assert stopped.status_code == 200
    assert stopped.json() == {
        "message": "Successfully stopped 2 daemons",
        "stopped_count": 2,
        "daemons": ["beta", "gamma"],
    }
    assert set(desired().values()) == {"stopped"}


def test_bulk_routes_win_over_daemon_names(api, fleet):
    # "start-all" is a valid slug: were "<name>/" matched first, GET would be a 404 for an unknown daemon
    # and POST a 405. Even a daemon actually named "start-all" does not shadow the bulk action.
    Daemon.objects.create(name="start-all", kind="test")
    for bulk in ("start-all", "stop-all", "restart-all"):
        assert api.get(f"/api/daemons/{bulk}/").status_code == 405
    response = api.post("/api/daemons/start-all/")
    assert response.status_code == 200
    assert "started_count" in response.json()


# --- logs and history ------------------------------------------------------------------------------------------


def add_logs(daemon, *entries):
    """entries: (level, message, minutes ago)."""
    now = timezone.now()
    for level, message, minutes in entries:
        log = DaemonLog.objects.create(daemon=daemon, level=level, message=message)
        DaemonLog.objects.filter(pk=log.pk).update(created_at=now - timedelta(minutes=minutes))


def messages(response) -> list[str]:
    return [line["message"] for line in response.json()["results"]]


def test_logs_are_newest_first_and_filter_by_level_and_more_severe(api, daemon):
    add_logs(
        daemon,
        ("DEBUG", "debug", 50),
        ("INFO", "info", 40),
        ("WARNING", "warning", 30),
        ("ERROR", "error", 20),
        ("INFO", "info 2", 10),
    )
    everything = api.get("/api/daemons/test/logs/")
    assert everything.status_code == 200
    assert everything.json()["count"] == 5
    assert messages(everything) == ["info 2", "error", "warning", "info", "debug"]
    first = everything.json()["results"][0]
    assert set(first) == {"id", "daemon", "level", "message", "created_at"} and first["daemon"] == "test"

    assert messages(api.get("/api/daemons/test/logs/?level=WARNING")) == ["error", "warning"]
    assert messages(api.get("/api/daemons/test/logs/?level=info")) == ["info 2", "error", "warning", "info"]
    assert messages(api.get("/api/daemons/test/logs/?level=ERROR")) == ["error"]


def test_logs_filter_by_since_and_page_with_limit_and_offset(api, daemon):
    add_logs(daemon, *[("INFO", f"line {n}", 60 - n) for n in range(6)])
    since = (timezone.now() - timedelta(minutes=56, seconds=30)).isoformat()
    recent = api.get("/api/daemons/test/logs/", {"since": since})
    assert recent.status_code == 200
    assert messages(recent) == ["line 5", "line 4"]

    page = api.get("/api/daemons/test/logs/?limit=2&offset=1")
    assert page.json()["count"] == 6
    assert messages(page) == ["line 4", "line 3"]
    assert "offset=3" in page.json()["next"]


def test_since_accepts_an_offset_whose_plus_arrived_as_a_space(api, daemon):
    add_logs(daemon, ("INFO", "old", 30), ("INFO", "new", 5))
    since = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0).isoformat()
    assert since.endswith("+00:00")
    # Not URL-encoded on purpose: the "+" reaches the server as a space.
    response = api.get(f"/api/daemons/test/logs/?since={since}")
    assert response.status_code == 200
    assert messages(response) == ["new"]


def test_listing_costs_a_fixed_number_of_queries(api, daemon, django_assert_num_queries):
    add_logs(daemon, *[("INFO", f"line {n}", n) for n in range(30)])
    with django_assert_num_queries(1):
        assert api.get("/api/daemons/").status_code == 200
    with django_assert_num_queries(3):  # the daemon, the count, the page
        assert len(api.get("/api/daemons/test/logs/?limit=25").json()["results"]) == 25


def test_bad_log_filters_are_a_400(api, daemon):
    level = api.get("/api/daemons/test/logs/?level=LOUD")
    assert level.status_code == 400
    assert list(level.json()) == ["level"]
    assert "not a valid choice" in level.json()["level"][0]

    since = api.get("/api/daemons/test/logs/?since=yesterday")
    assert since.status_code == 400
    assert list(since.json()) == ["since"]

    assert api.get("/api/daemons/nope/logs/").status_code == 404
    assert api.get("/api/daemons/nope/history/").status_code == 404


def test_history_is_newest_first_with_job_links_actions_and_reasons(api, daemon):
    job = Job.objects.create(type="test")
    now = timezone.now()
    for minutes, action, reason in ((30, "LAUNCHED", "Test job for iteration 1"), (10, "FINISHED", "Job completed")):
        entry = services.add_job_history(daemon, job, action, reason)
        DaemonJobHistory.objects.filter(pk=entry.pk).update(created_at=now - timedelta(minutes=minutes))

    response = api.get("/api/daemons/test/history/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(e["action"], e["reason"]) for e in body["results"]] == [
        ("FINISHED", "Job completed"),
        ("LAUNCHED", "Test job for iteration 1"),
    ]
    newest = body["results"][0]
    assert newest["job_id"] == str(job.pk)
    assert newest["job_type"] == "test"
    assert newest["job_url"] == job.get_absolute_url()

    page = api.get("/api/daemons/test/history/?limit=1&offset=1").json()
    assert [e["action"] for e in page["results"]] == ["LAUNCHED"]
    since = (now - timedelta(minutes=20)).isoformat()
    assert [e["action"] for e in api.get("/api/daemons/test/history/", {"since": since}).json()["results"]] == [
        "FINISHED"
    ]
    assert api.get("/api/daemons/test/history/?since=soon").status_code == 400


# --- authentication ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/daemons/"),
        ("get", "/api/daemons/test/"),
        ("patch", "/api/daemons/test/"),
        ("put", "/api/daemons/test/"),
        ("post", "/api/daemons/test/start/"),
        ("post", "/api/daemons/test/stop/"),
        ("post", "/api/daemons/test/restart/"),
        ("post", "/api/daemons/start-all/"),
        ("post", "/api/daemons/stop-all/"),
        ("post", "/api/daemons/restart-all/"),
        ("get", "/api/daemons/test/logs/"),
        ("get", "/api/daemons/test/history/"),
        ("get", "/api/schema/"),
        ("get", "/api/docs/"),
    ],
)
def test_anonymous_requests_get_nothing_and_change_nothing(daemon, method, path):
    before = snapshot()
    body = {"auto_start": True, "configuration": {"interval_seconds": 1}}
    response = getattr(APIClient(), method)(path, body if method in ("patch", "put") else None, format="json")
    assert response.status_code in (401, 403)
    assert b"desired_state" not in response.content
    assert snapshot() == before


def test_token_auth_from_drf_create_token_works_without_csrf(alice, daemon):
    out = StringIO()
    call_command("drf_create_token", "api-alice", stdout=out)
    token = out.getvalue().split()[2]
    assert len(token) == 40

    client = APIClient(enforce_csrf_checks=True)
    assert client.post("/api/daemons/test/start/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/daemons/").status_code == 200
    assert client.post("/api/daemons/test/start/").status_code == 200
    assert fresh().desired_state == DesiredState.RUNNING

    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    forged = client.get("/api/daemons/")
    assert forged.status_code in (401, 403)
    assert forged.json() == {"detail": "Invalid token."}


def test_session_auth_posts_need_the_csrf_token(alice, daemon):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="api-alice", password="correct-horse-battery")
    assert client.get("/api/daemons/test/").status_code == 200

    refused = client.post("/api/daemons/test/start/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert fresh().desired_state == DesiredState.STOPPED

    csrf = secrets.token_hex(16)
    client.cookies["csrftoken"] = csrf
    accepted = client.post("/api/daemons/test/start/", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 200
    assert fresh().desired_state == DesiredState.RUNNING

    patched = client.generic(
        "PATCH",
        "/api/daemons/test/",
        json.dumps({"auto_start": True}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert patched.status_code == 200
    assert fresh().auto_start is True
