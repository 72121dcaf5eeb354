"""The Daemons dashboard: the cards (status, job link, stale flag, buttons) and Start/Stop/Restart all."""

from datetime import timedelta

import pytest
from django.utils import timezone

from daemons import services
from daemons.live import daemon_payload
from daemons.models import ActualState, Daemon, DesiredState, StatusLevel
from jobs.models import Job, JobStatus
from jobs.services import create_job
from orchestrator.live.fragments import render_fragment
from tests.pages import card, set_row

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
    assert 'class="dot dot-ok"' in html
    assert "updated <time data-ago" in html
    assert "Reports statuses, writes logs and launches a test job" in html  # what the daemon does


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


def test_a_status_level_colours_its_dot(browser, daemon):
    set_row(
        daemon,
        actual_state=ActualState.RUNNING,
        desired_state=DesiredState.RUNNING,
        current_status="Sleeping for 300 seconds",
        status_level=StatusLevel.WAITING,
        status_updated_at=timezone.now(),
    )
    assert 'class="dot dot-waiting"' in card(browser.get("/daemons/").content.decode(), "test")
    set_row(daemon, status_level=StatusLevel.WARNING)
    assert 'class="dot dot-warning"' in card(browser.get("/daemons/").content.decode(), "test")
    set_row(daemon, actual_state=ActualState.ERROR)
    assert 'class="dot dot-error"' in card(browser.get("/daemons/").content.decode(), "test")


def test_a_status_link_and_the_next_check_show_on_the_card(browser, daemon):
    now = timezone.now()
    set_row(
        daemon,
        actual_state=ActualState.RUNNING,
        current_status="2 plans waiting for review (156 changes)",
        status_link_url="/plans/",
        status_link_label="Review plans",
        status_updated_at=now,
        status_next_at=now + timedelta(seconds=3600),
    )
    html = card(browser.get("/daemons/").content.decode(), "test")
    assert '<a class="status-link" href="/plans/">Review plans</a>' in html
    assert "next check <time data-until" in html
    assert ">in 1 h</time>" in html  # a human duration, not "3600 seconds"
    assert 'data-format="clock"' in html


def test_the_next_check_is_hidden_while_the_step_that_passed_it_runs(browser, daemon):
    now = timezone.now()
    set_row(
        daemon,
        actual_state=ActualState.RUNNING,
        current_status="Checking for work",
        status_updated_at=now,
        status_next_at=now - timedelta(seconds=1),
    )
    assert "next check" not in card(browser.get("/daemons/").content.decode(), "test")


def test_an_overdue_daemon_is_flagged_stale(browser, daemon, settings):
    settings.DAEMON_STALE_AFTER_SECONDS = 60
    now = timezone.now()
    beat = {"lease_owner": "host", "heartbeat_at": now}
    overdue = now - timedelta(seconds=61)
    set_row(daemon, actual_state=ActualState.RUNNING, current_status="Checking", status_next_at=overdue, **beat)
    html = browser.get("/daemons/").content.decode()
    assert 'data-stale="true"' in card(html, "test")
    assert 'data-stale-after="60"' in html  # live.js recomputes it every second from the grace
    assert 'data-lease-seconds="' in html  # … and the heartbeat's lease
    assert 'class="stale-flag"' in card(html, "test")

    set_row(daemon, status_next_at=now - timedelta(seconds=30))  # late, but within the grace
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
    assert 'data-width="50"' in row and "50% · 2 / 4" in row
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


def test_start_all_starts_every_stopped_daemon_on_a_fresh_install(browser, daemon):
    assert not Daemon.objects.filter(auto_start=True).exists()  # the fresh-install defaults
    manual = Daemon.objects.create(name="manual", kind="test", auto_start=False)
    response = browser.post("/daemons/start-all/")
    assert response.status_code == 302
    assert set(Daemon.objects.values_list("desired_state", flat=True)) == {DesiredState.RUNNING}
    assert Daemon.objects.get(pk=manual.pk).desired_state == DesiredState.RUNNING
    count = Daemon.objects.count()
    assert f"Successfully started {count} daemons" in browser.get("/daemons/").content.decode()


def test_start_all_says_what_it_starts(browser, daemon):
    page = browser.get("/daemons/").content.decode()
    assert 'title="Starts every stopped daemon (auto-start only decides what starts with the stack)"' in page


def test_start_all_with_nothing_to_start_says_so(browser, daemon):
    browser.post("/daemons/start-all/")
    browser.get("/daemons/")
    browser.post("/daemons/start-all/")
    assert "No daemons to start: every daemon is already running." in browser.get("/daemons/").content.decode()


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
