"""One daemon's page: host facts, the configuration form and raw JSON, the log and the job history."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from daemons import services
from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState, JobAction
from jobs.services import create_job
from tests.pages import set_row

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
