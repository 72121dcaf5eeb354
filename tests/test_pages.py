"""The server-rendered pages: login everywhere, what they show, and what their buttons and forms change."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from daemons import services
from daemons.live import daemon_payload
from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState, JobAction
from jobs.models import Job, JobStatus
from jobs.services import create_job
from orchestrator.live.fragments import render_fragment


@pytest.fixture
def daemon(transactional_db):
    services.ensure_daemon_rows()
    return Daemon.objects.get(name="test")


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def set_row(daemon, **fields):
    Daemon.objects.filter(pk=daemon.pk).update(**fields)
    daemon.refresh_from_db()
    return daemon


def finished_job(status=JobStatus.COMPLETED, **fields):
    job = create_job("test", {"steps": 2})
    fields.setdefault("finished_at", timezone.now())
    Job.objects.filter(pk=job.pk).update(status=status, **fields)
    job.refresh_from_db()
    return job


def card(html: str, name: str) -> str:
    start = html.index(f'data-daemon="{name}"')
    return html[start : html.index("</article>", start)]


# --- login and CSRF --------------------------------------------------------------------------------


def page_urls(daemon, job):
    return ["/daemons/", f"/daemons/{daemon.name}/", "/jobs/", f"/jobs/{job.pk}/", "/jobs/run/", "/jobs/run/?type=test"]


def post_urls(daemon, job):
    base = f"/daemons/{daemon.name}/"
    return [
        base + "start/",
        base + "stop/",
        base + "restart/",
        base + "auto-start/",
        base + "config/",
        base + "config/raw/",
        base + "config/reset/",
        "/daemons/start-all/",
        "/daemons/stop-all/",
        "/daemons/restart-all/",
        f"/jobs/{job.pk}/cancel/",
        f"/jobs/{job.pk}/retry/",
        "/jobs/run/",
    ]


def test_anonymous_visitors_are_sent_to_login_from_every_page(client, daemon):
    job = create_job("test", {})
    for url in page_urls(daemon, job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_anonymous_posts_are_sent_to_login_and_change_nothing(client, daemon):
    job = finished_job(status=JobStatus.FAILED)
    before = Daemon.objects.values().get(pk=daemon.pk)
    for url in post_urls(daemon, job):
        response = client.post(url, {"auto_start": "on", "type": "test", "configuration": "{}"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
    assert Daemon.objects.values().get(pk=daemon.pk) == before
    assert Job.objects.count() == 1


def test_logged_in_pages_render(browser, daemon):
    job = create_job("test", {})
    for url in page_urls(daemon, job):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert "Live updates are down" in response.content.decode()


def test_a_post_without_csrf_token_is_refused(user, daemon):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(f"/daemons/{daemon.name}/start/")
    assert response.status_code == 403
    daemon.refresh_from_db()
    assert daemon.desired_state == DesiredState.STOPPED


def test_mutating_endpoints_refuse_get(browser, daemon):
    response = browser.get(f"/daemons/{daemon.name}/start/")
    assert response.status_code == 405
    daemon.refresh_from_db()
    assert daemon.desired_state == DesiredState.STOPPED


def test_login_page_logs_in(client, user):
    page = client.get("/login/")
    assert page.status_code == 200 and "Log in" in page.content.decode()
    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/daemons/").status_code == 200


# --- the Daemons page ------------------------------------------------------------------------------


def test_card_shows_status_text_job_tag_and_view_job_link(browser, daemon):
    job = create_job("test", {})
    set_row(
        daemon,
        actual_state=ActualState.RUNNING,
        desired_state=DesiredState.RUNNING,
        current_status="Waiting for test job (iteration 1)",
        current_job_id=str(job.pk),
        current_job_type="test",
        status_updated_at=timezone.now(),
    )
    html = card(browser.get("/daemons/").content.decode(), "test")
    assert "Test Daemon" in html and "<code" in html
    assert "Waiting for test job (iteration 1)" in html
    assert '<span class="tag job-tag">test</span>' in html
    assert f'<a class="view-job" href="/jobs/{job.pk}/">View job</a>' in html
    assert 'data-actual-state="running"' in html and 'data-desired-state="running"' in html
    assert 'class="dot dot-active"' in html
    assert "updated <time data-ago" in html


def test_card_of_a_stopped_daemon_says_so_without_job_link(browser, daemon):
    html = card(browser.get("/daemons/").content.decode(), "test")
    assert "Daemon stopped" in html
    assert "View job" not in html
    assert '<span class="state state-stopped">Stopped</span>' in html


def test_card_shows_starting_and_stopping_while_the_host_catches_up(browser, daemon):
    set_row(daemon, desired_state=DesiredState.RUNNING, actual_state=ActualState.STOPPED)
    assert "Starting…" in card(browser.get("/daemons/").content.decode(), "test")
    set_row(daemon, desired_state=DesiredState.STOPPED, actual_state=ActualState.RUNNING)
    assert "Stopping…" in card(browser.get("/daemons/").content.decode(), "test")


def test_sleeping_status_gets_the_sleeping_dot(browser, daemon):
    set_row(
        daemon,
        actual_state=ActualState.RUNNING,
        desired_state=DesiredState.RUNNING,
        current_status="Sleeping for 300 seconds",
        status_updated_at=timezone.now(),
    )
    assert 'class="dot dot-sleeping"' in card(browser.get("/daemons/").content.decode(), "test")


def test_running_daemon_with_old_status_is_flagged_stale(browser, daemon, settings):
    settings.DAEMON_STALE_AFTER_SECONDS = 60
    old = timezone.now() - timedelta(seconds=61)
    set_row(daemon, actual_state=ActualState.RUNNING, current_status="Checking", status_updated_at=old)
    html = browser.get("/daemons/").content.decode()
    assert 'data-stale="true"' in card(html, "test")
    assert 'data-stale-after="60"' in html  # live.js recomputes it every second from this threshold
    assert 'class="stale-flag"' in card(html, "test")

    set_row(daemon, status_updated_at=timezone.now())
    assert 'data-stale="false"' in card(browser.get("/daemons/").content.decode(), "test")


def test_stopped_daemon_is_never_stale(browser, daemon, settings):
    settings.DAEMON_STALE_AFTER_SECONDS = 60
    set_row(daemon, actual_state=ActualState.STOPPED, status_updated_at=timezone.now() - timedelta(hours=1))
    assert 'data-stale="false"' in card(browser.get("/daemons/").content.decode(), "test")


def test_page_and_push_render_the_same_status_fragment(browser, daemon):
    set_row(daemon, actual_state=ActualState.RUNNING, current_status="Iteration 3", status_updated_at=timezone.now())
    pushed = daemon_payload(daemon)["html"]["status"]
    assert pushed.strip() in browser.get("/daemons/").content.decode()
    assert pushed.strip() in browser.get("/daemons/test/").content.decode()
    assert "csrfmiddlewaretoken" not in pushed


def test_job_row_fragment_renders_without_a_request(transactional_db):
    job = create_job("test", {"steps": 4})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=50, processed_items=2, total_items=4)
    job.refresh_from_db()
    row = render_fragment("jobs/_job_row.html", {"job": job})
    assert f'data-job="{job.pk}"' in row
    assert "width: 50%" in row and "50% · 2 / 4" in row
    assert "Running" in row and f'href="/jobs/{job.pk}/"' in row
    assert "csrfmiddlewaretoken" not in row


@pytest.mark.parametrize(
    ("action", "desired", "restarts"),
    [("start", DesiredState.RUNNING, 0), ("stop", DesiredState.STOPPED, 0), ("restart", DesiredState.RUNNING, 1)],
)
def test_card_buttons_change_the_desired_state(browser, daemon, action, desired, restarts):
    if action == "stop":
        set_row(daemon, desired_state=DesiredState.RUNNING)
    response = browser.post(f"/daemons/test/{action}/", {"next": "/daemons/"})
    assert response.status_code == 302 and response["Location"] == "/daemons/"
    daemon.refresh_from_db()
    assert daemon.desired_state == desired
    assert daemon.restart_requested == restarts
    page = browser.get("/daemons/").content.decode()
    assert f"Test Daemon is {action}" in page


def test_start_without_a_host_warns_how_to_run_one(browser, daemon):
    browser.post("/daemons/test/start/")
    page = browser.get("/daemons/").content.decode()
    assert "No host process is running for Test Daemon" in page


def test_buttons_never_redirect_to_another_site(browser, daemon):
    response = browser.post("/daemons/test/start/", {"next": "https://evil.example/"})
    assert response["Location"] == "/daemons/"


def test_start_all_starts_only_stopped_daemons_with_auto_start(browser, daemon):
    set_row(daemon, auto_start=True)
    manual = Daemon.objects.create(name="manual", kind="test", auto_start=False)
    response = browser.post("/daemons/start-all/")
    assert response.status_code == 302
    assert Daemon.objects.get(name="test").desired_state == DesiredState.RUNNING
    assert Daemon.objects.get(pk=manual.pk).desired_state == DesiredState.STOPPED
    assert "Successfully started 1 daemon: test" in browser.get("/daemons/").content.decode()


def test_start_all_with_nothing_to_start_says_so(browser, daemon):
    browser.post("/daemons/start-all/")
    assert "No daemons to start" in browser.get("/daemons/").content.decode()


def test_stop_all_and_restart_all_touch_running_daemons(browser, daemon):
    set_row(daemon, desired_state=DesiredState.RUNNING)
    Daemon.objects.create(name="idle", kind="test")
    browser.post("/daemons/restart-all/")
    assert Daemon.objects.get(name="test").restart_requested == 1
    assert Daemon.objects.get(name="idle").desired_state == DesiredState.STOPPED
    browser.post("/daemons/stop-all/")
    assert set(Daemon.objects.values_list("desired_state", flat=True)) == {DesiredState.STOPPED}


def test_auto_start_toggle_never_touches_the_configuration(browser, daemon):
    services.update_configuration(daemon, {"interval_seconds": 42.0, "job_steps": 9}, partial=True)
    daemon.refresh_from_db()
    config, version = daemon.configuration, daemon.config_version

    browser.post("/daemons/test/auto-start/", {"auto_start": "on"})
    daemon.refresh_from_db()
    assert daemon.auto_start is True
    assert (daemon.configuration, daemon.config_version) == (config, version)

    browser.post("/daemons/test/auto-start/", {})  # an unchecked box posts nothing
    daemon.refresh_from_db()
    assert daemon.auto_start is False
    assert (daemon.configuration, daemon.config_version) == (config, version)


# --- the daemon detail page ------------------------------------------------------------------------


def test_detail_shows_host_heartbeat_uptime_and_last_error(browser, daemon):
    now = timezone.now()
    set_row(
        daemon,
        actual_state=ActualState.ERROR,
        desired_state=DesiredState.RUNNING,
        lease_owner="abc",
        lease_host="box-1",
        lease_pid=4242,
        heartbeat_at=now,
        started_at=now - timedelta(minutes=5),
        current_status="Error: SimulatedError: boom (restarting in 1 s)",
        status_updated_at=now,
        last_error='Traceback (most recent call last):\n  File "x.py", line 1\nSimulatedError: boom',
        last_error_at=now,
    )
    html = browser.get("/daemons/test/").content.decode()
    assert "box-1" in html and "4242" in html
    assert "Error — restarting" in html
    assert '<summary><span data-field="last_error_summary">SimulatedError: boom</span>' in html
    assert "Traceback (most recent call last)" in html
    assert 'data-time-field="started_at" data-since' in html
    assert "data-no-host hidden" in html  # the heartbeat is fresh: no "no host process" warning


def config_post(**overrides):
    data = {
        "interval_seconds": "5",
        "launch_jobs": "on",
        "job_every": "10",
        "job_steps": "5",
        "job_step_seconds": "1",
        "log_every": "5",
        "error_every": "20",
    }
    data.update(overrides)
    return data


def test_config_form_saves_and_bumps_the_version(browser, daemon):
    version = daemon.config_version
    response = browser.post("/daemons/test/config/", config_post(interval_seconds="2.5", job_steps="7"))
    assert response.status_code == 302 and response["Location"] == "/daemons/test/#configuration"
    daemon.refresh_from_db()
    assert daemon.config_version == version + 1
    assert daemon.configuration["interval_seconds"] == 2.5
    assert daemon.configuration["job_steps"] == 7
    assert daemon.configuration["simulate_errors"] is False  # unchecked box
    page = browser.get("/daemons/test/").content.decode()
    assert "picks up the change without restarting" in page
    assert 'value="2.5"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("job_steps", "many", "Must be an integer."),
        ("interval_seconds", "abc", "Must be a number."),
        ("job_steps", "0", "Must be at least 1."),
        ("interval_seconds", "99999", "Must be at most 3600."),
        ("interval_seconds", "nan", "Must be a number."),
    ],
)
def test_config_form_errors_show_inline_and_save_nothing(browser, daemon, field, value, message):
    before = Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk)
    response = browser.post("/daemons/test/config/", config_post(**{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    setting = html[html.index(f'data-setting="{field}"') :]
    setting = setting[: setting.index("</div>")]
    assert message in setting
    assert "has-error" in html[html.rindex("<div", 0, html.index(f'data-setting="{field}"')) :][:80]
    assert "The configuration was not saved" in html
    assert Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk) == before


def test_raw_json_saves_a_whole_configuration(browser, daemon):
    version = daemon.config_version
    raw = json.dumps({"interval_seconds": 0.5, "launch_jobs": False})
    response = browser.post("/daemons/test/config/raw/", {"configuration": raw})
    assert response.status_code == 302
    daemon.refresh_from_db()
    assert daemon.config_version == version + 1
    assert daemon.configuration["interval_seconds"] == 0.5 and daemon.configuration["launch_jobs"] is False
    assert daemon.configuration["job_steps"] == 5  # left out: its default


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"interval_seconds": 1, "bogus": true}', "bogus: Unknown"),
        ('{"job_steps": "five"}', "job_steps: Must be an integer."),
        ('{"interval_seconds": 1,', "Invalid JSON"),
        ("[1, 2]", "Expected a JSON object."),
        ('{"interval_seconds": NaN}', "NaN is not a JSON value"),
    ],
)
def test_raw_json_errors_show_and_save_nothing(browser, daemon, raw, message):
    before = Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk)
    response = browser.post("/daemons/test/config/raw/", {"configuration": raw})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert '<details class="raw-config" open>' in html
    assert raw.replace('"', "&quot;") in html  # the text comes back for correction
    assert Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk) == before


def test_reset_to_defaults(browser, daemon):
    services.update_configuration(daemon, {"interval_seconds": 42.0}, partial=True)
    daemon.refresh_from_db()
    version = daemon.config_version
    response = browser.post("/daemons/test/config/reset/")
    assert response.status_code == 302
    daemon.refresh_from_db()
    assert daemon.configuration == services.schema_for(daemon).defaults()
    assert daemon.config_version == version + 1
    assert "Configuration reset to defaults" in browser.get("/daemons/test/").content.decode()


def log_rows(html: str) -> list[str]:
    return re.findall(r'<pre class="log-message">([^<]*)</pre>', html)


def test_log_level_filter_shows_that_level_and_more_severe(browser, daemon):
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        DaemonLog.objects.create(daemon=daemon, level=level, message=f"{level.lower()} line")
    html = browser.get("/daemons/test/?level=WARNING").content.decode()
    assert log_rows(html) == ["error line", "warning line"]
    assert 'data-min-level="30"' in html
    assert len(log_rows(browser.get("/daemons/test/").content.decode())) == 4
    assert log_rows(browser.get("/daemons/test/?level=nonsense").content.decode())[-1] == "debug line"


def test_log_pages_hold_50_lines_newest_first(browser, daemon):
    DaemonLog.objects.bulk_create(DaemonLog(daemon=daemon, level="INFO", message=f"line {i}") for i in range(120))
    base = timezone.now()
    for entry in DaemonLog.objects.filter(daemon=daemon):
        DaemonLog.objects.filter(pk=entry.pk).update(created_at=base + timedelta(seconds=int(entry.message.split()[1])))

    first = browser.get("/daemons/test/").content.decode()
    assert log_rows(first)[:2] == ["line 119", "line 118"] and len(log_rows(first)) == 50
    assert 'data-live="true"' in first
    third = browser.get("/daemons/test/?page=3").content.decode()
    assert log_rows(third) == [f"line {i}" for i in range(19, -1, -1)]
    assert "Page 3 of 3" in third
    # Live lines are only prepended to the first page.
    assert 'data-log-tail="test" data-min-level="0" data-live="false"' in third


def test_job_history_links_jobs_and_pages(browser, daemon):
    job = create_job("test", {})
    DaemonJobHistory.objects.create(
        daemon=daemon,
        job=job,
        job_uuid=job.pk,
        job_type="test",
        action=JobAction.LAUNCHED,
        reason="Test job for iteration 1",
    )
    DaemonJobHistory.objects.create(
        daemon=daemon, job=None, job_uuid=uuid.uuid4(), job_type="test", action=JobAction.FINISHED, reason="purged"
    )
    html = browser.get("/daemons/test/").content.decode()
    assert f'<a href="/jobs/{job.pk}/"><code>{str(job.pk)[:8]}</code></a>' in html
    assert '<span class="tag action-LAUNCHED">LAUNCHED</span>' in html
    assert "Test job for iteration 1" in html and "Removed by retention" in html


def test_unknown_daemon_is_404(browser, daemon):
    assert browser.get("/daemons/nope/").status_code == 404
    assert browser.post("/daemons/nope/start/").status_code == 404


# --- the Jobs pages --------------------------------------------------------------------------------


def job_ids(html: str, table: str) -> list[str]:
    start = html.index(f'data-job-table="{table}"')
    body = html[start : html.index("</tbody>", start)]
    return re.findall(r'<tr data-job="([0-9a-f-]{36})"', body)


def test_jobs_page_splits_active_and_history(browser):
    running = create_job("test", {})
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING, progress=40, processed_items=2, total_items=5)
    done = finished_job()
    html = browser.get("/jobs/").content.decode()
    assert job_ids(html, "active") == [str(running.pk)]
    assert job_ids(html, "history") == [str(done.pk)]
    assert "40% · 2 / 5" in html


def test_history_filters_by_type_status_and_daemon(browser):
    completed = finished_job()
    failed = finished_job(status=JobStatus.FAILED, created_by="test")
    cancelled = finished_job(status=JobStatus.CANCELLED)

    assert job_ids(browser.get("/jobs/?status=failed").content.decode(), "history") == [str(failed.pk)]
    assert job_ids(browser.get("/jobs/?created_by=test").content.decode(), "history") == [str(failed.pk)]
    assert set(job_ids(browser.get("/jobs/?type=test").content.decode(), "history")) == {
        str(completed.pk),
        str(failed.pk),
        str(cancelled.pk),
    }
    assert job_ids(browser.get("/jobs/?type=sync").content.decode(), "history") == []
    html = browser.get("/jobs/?type=test&status=cancelled").content.decode()
    assert job_ids(html, "history") == [str(cancelled.pk)]
    assert 'data-filter-status="cancelled"' in html and 'data-filter-type="test"' in html


def test_history_pages_hold_25_jobs_newest_finished_first(browser):
    base = timezone.now()
    jobs = [finished_job(finished_at=base + timedelta(seconds=i)) for i in range(30)]
    first = job_ids(browser.get("/jobs/").content.decode(), "history")
    assert len(first) == 25 and first[0] == str(jobs[-1].pk)
    second = browser.get("/jobs/?page=2&status=completed").content.decode()
    assert job_ids(second, "history") == [str(j.pk) for j in reversed(jobs[:5])]
    assert "Page 2 of 2" in second
    assert "page=1" in second and "status=completed" in second  # paging keeps the filters


def test_job_detail_shows_every_field(browser, daemon):
    parent = create_job("test", {})
    job = finished_job(
        status=JobStatus.FAILED,
        error="RuntimeError: Simulated failure at step 2",
        result={"steps_completed": 1},
        created_by="test",
        worker="box:123:slot-1",
        parent=parent,
        started_at=timezone.now() - timedelta(seconds=75),
        progress=50,
        processed_items=1,
        total_items=2,
        message="Processed 1/2 test steps",
    )
    html = browser.get(f"/jobs/{job.pk}/").content.decode()
    assert '<span class="badge status-failed" data-job-badge>Failed</span>' in html
    assert "RuntimeError: Simulated failure at step 2" in html
    assert "&quot;steps_completed&quot;: 1" in html
    assert "&quot;step_seconds&quot;: 2.0" in html  # parameters with their defaults
    assert '<a href="/daemons/test/">test</a>' in html
    assert "box:123:slot-1" in html and "Processed 1/2 test steps" in html
    assert f'href="/jobs/{parent.pk}/"' in html
    assert "1 min 15 s" in html
    assert f'data-job-detail="{job.pk}" data-status="failed"' in html


def test_cancel_a_pending_job(browser):
    job = create_job("test", {})
    response = browser.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert "Job cancelled before it started." in browser.get(f"/jobs/{job.pk}/").content.decode()


def test_cancel_a_running_job_requests_cooperative_cancellation(browser):
    job = create_job("test", {})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    browser.post(f"/jobs/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLING


def test_cancelling_a_finished_job_is_refused_with_409_and_changes_nothing(browser):
    job = finished_job()
    before = Job.objects.values().get(pk=job.pk)
    response = browser.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 409
    assert "Cannot cancel a completed job." in response.content.decode()
    assert Job.objects.values().get(pk=job.pk) == before


def test_retry_creates_a_new_job_with_the_original_parameters(browser):
    job = finished_job(status=JobStatus.FAILED, result={"partial": True}, error="boom", created_by="test")
    Job.objects.filter(pk=job.pk).update(parameters={"steps": 3, "step_seconds": 0.5, "fail_at_step": 2})
    response = browser.post(f"/jobs/{job.pk}/retry/")
    new = Job.objects.exclude(pk=job.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{new.pk}/"
    assert new.parameters == {"steps": 3, "step_seconds": 0.5, "fail_at_step": 2}
    assert new.status == JobStatus.PENDING and new.retry_of_id == job.pk
    assert new.result is None and new.error == ""
    assert "Retried as a new job" in browser.get(response["Location"]).content.decode()


def test_retrying_a_completed_job_is_refused(browser):
    job = finished_job()
    response = browser.post(f"/jobs/{job.pk}/retry/")
    assert response.status_code == 409
    assert "Cannot retry a completed job" in response.content.decode()
    assert Job.objects.count() == 1


def test_run_page_shows_a_form_built_from_the_parameters(browser):
    html = browser.get("/jobs/run/?type=test").content.decode()
    assert '<option value="test" selected>Test job</option>' in html
    for name in ("steps", "step_seconds", "fail_at_step"):
        assert f'name="{name}"' in html
    assert "Number of steps to run (0: finish at once, a no-op job)." in html


def test_run_form_creates_the_job_and_opens_it(browser):
    response = browser.post("/jobs/run/", {"type": "test", "steps": "3", "step_seconds": "0.5", "fail_at_step": "0"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.type == "test" and job.parameters == {"steps": 3, "step_seconds": 0.5, "fail_at_step": 0}
    assert job.created_by == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": "-1", "step_seconds": "1", "fail_at_step": "0"}, "Must be at least 0."),
        ({"steps": "x", "step_seconds": "1", "fail_at_step": "0"}, "Must be an integer."),
        ({"steps": "2", "step_seconds": "-1", "fail_at_step": "0"}, "Must be at least 0."),
        ({"steps": "2", "step_seconds": "NaN", "fail_at_step": "0"}, "Must be a number."),
    ],
)
def test_run_form_with_bad_parameters_shows_errors_and_creates_nothing(browser, data, message):
    response = browser.post("/jobs/run/", {"type": "test", **data})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "The job was not created" in html
    assert Job.objects.count() == 0


def test_run_form_with_an_unknown_type_creates_nothing(browser):
    response = browser.post("/jobs/run/", {"type": "nope", "steps": "1"})
    assert response.status_code == 400
    assert "Unknown job type" in response.content.decode()
    assert Job.objects.count() == 0
    assert "Unknown job type" in browser.get("/jobs/run/?type=nope").content.decode()
