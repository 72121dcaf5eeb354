"""The Django admin: the live status column and actions on daemons, validated configuration, job actions."""

import json

import pytest
from django.utils import timezone

from daemons.models import ActualState, Daemon, DaemonJobHistory, DaemonLog, DesiredState, JobAction
from jobs.models import Job, JobStatus
from jobs.services import create_job


@pytest.fixture
def admin(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def action(admin, url, name, ids):
    return admin.post(url, {"action": name, "_selected_action": [str(i) for i in ids]})


def test_admin_requires_a_staff_login(client, user, daemon):
    response = client.get("/admin/daemons/daemon/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    user.is_staff = False
    user.save()
    client.force_login(user)  # logged in, but not staff
    response = client.get("/admin/daemons/daemon/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_changelist_shows_the_live_status_column(admin, daemon):
    job = create_job("test", {})
    Daemon.objects.filter(pk=daemon.pk).update(
        actual_state=ActualState.RUNNING,
        desired_state=DesiredState.RUNNING,
        current_status="Waiting for test job (iteration 2)",
        current_job_id=str(job.pk),
        current_job_type="test",
        status_updated_at=timezone.now(),
    )
    html = admin.get("/admin/daemons/daemon/").content.decode()
    assert "Live status" in html
    assert 'data-daemon="test" data-daemon-status="test" data-actual-state="running"' in html
    assert "Waiting for test job (iteration 2)" in html and f'href="/jobs/{job.pk}/">View job</a>' in html
    # live.js patches that column: it is loaded and told to subscribe to the daemons group.
    assert 'data-live-groups="daemons"' in html and "js/live.js" in html
    assert "Live updates are down" in html


def test_changelist_actions_start_stop_and_restart(admin, daemon):
    other = Daemon.objects.create(name="other", kind="test")
    url = "/admin/daemons/daemon/"
    response = action(admin, url, "start_daemons", [daemon.pk, other.pk])
    assert response.status_code == 302
    chosen = Daemon.objects.filter(pk__in=[daemon.pk, other.pk])
    assert set(chosen.values_list("desired_state", flat=True)) == {DesiredState.RUNNING}

    action(admin, url, "restart_daemons", [daemon.pk])
    assert Daemon.objects.get(pk=daemon.pk).restart_requested == 1
    assert Daemon.objects.get(pk=other.pk).restart_requested == 0

    action(admin, url, "stop_daemons", [other.pk])
    assert Daemon.objects.get(pk=other.pk).desired_state == DesiredState.STOPPED
    assert Daemon.objects.get(pk=daemon.pk).desired_state == DesiredState.RUNNING
    assert "Stop requested for other." in admin.get(url).content.decode()


def change(admin, daemon, configuration, auto_start=False):
    data = {"configuration": json.dumps(configuration)}
    if auto_start:
        data["auto_start"] = "on"
    return admin.post(f"/admin/daemons/daemon/{daemon.pk}/change/", data)


def test_change_form_saves_a_valid_configuration_through_the_services(admin, daemon):
    config = {**daemon.configuration, "interval_seconds": 3.0}
    version = daemon.config_version
    Daemon.objects.filter(pk=daemon.pk).update(current_status="written by the daemon meanwhile")
    response = change(admin, daemon, config)
    assert response.status_code == 302
    daemon.refresh_from_db()
    assert daemon.configuration["interval_seconds"] == 3.0
    assert daemon.config_version == version + 1  # so the running loop picks it up
    assert daemon.current_status == "written by the daemon meanwhile"  # the form never saves the whole row


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"bogus": 1}, "bogus: Unknown"),
        ({"job_steps": "five"}, "job_steps: Must be an integer."),
        ({"interval_seconds": 0}, "interval_seconds: Must be at least 0.001."),
        ({"interval_seconds": float("nan")}, "interval_seconds: Must be a finite number."),
    ],
)
def test_change_form_refuses_an_invalid_configuration(admin, daemon, patch, message):
    before = Daemon.objects.values().get(pk=daemon.pk)
    response = change(admin, daemon, {**daemon.configuration, **patch}, auto_start=True)
    assert response.status_code == 200  # the form again, with its errors
    assert message in response.content.decode()
    assert Daemon.objects.values().get(pk=daemon.pk) == before


def test_change_form_auto_start_alone_keeps_the_configuration(admin, daemon):
    before = Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk)
    response = change(admin, daemon, daemon.configuration, auto_start=True)
    assert response.status_code == 302
    assert Daemon.objects.get(pk=daemon.pk).auto_start is True
    assert Daemon.objects.values("configuration", "config_version").get(pk=daemon.pk) == before


def test_daemons_cannot_be_added_or_deleted_in_the_admin(admin, daemon):
    assert admin.get("/admin/daemons/daemon/add/").status_code == 403
    assert admin.post(f"/admin/daemons/daemon/{daemon.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Daemon.objects.filter(pk=daemon.pk).exists()


def test_logs_and_history_are_listed_and_filterable(admin, daemon):
    DaemonLog.objects.create(daemon=daemon, level="ERROR", message="Daemon crashed: boom\nTraceback ...")
    DaemonLog.objects.create(daemon=daemon, level="INFO", message="all fine")
    job = create_job("test", {})
    DaemonJobHistory.objects.create(
        daemon=daemon, job=job, job_uuid=job.pk, job_type="test", action=JobAction.LAUNCHED, reason="iteration 1"
    )
    html = admin.get("/admin/daemons/daemonlog/?level__exact=ERROR").content.decode()
    assert "Daemon crashed: boom" in html and "all fine" not in html
    html = admin.get("/admin/daemons/daemonjobhistory/?action__exact=LAUNCHED").content.decode()
    assert "iteration 1" in html and f"/admin/jobs/job/{job.pk}/change/" in html


def test_job_changelist_filters_and_searches_by_id(admin, daemon):
    mine = create_job("test", {})
    other = create_job("test", {})
    Job.objects.filter(pk=other.pk).update(status=JobStatus.FAILED, created_by="test")
    html = admin.get(f"/admin/jobs/job/?q={str(mine.pk)[:13]}").content.decode()
    assert str(mine.pk) in html and str(other.pk) not in html
    html = admin.get("/admin/jobs/job/?status__exact=failed&created_by=test").content.decode()
    assert str(other.pk) in html and str(mine.pk) not in html


def test_job_actions_cancel_and_retry_through_the_services(admin, daemon):
    pending = create_job("test", {})
    failed = create_job("test", {"steps": 7})
    Job.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED, error="boom", finished_at=timezone.now())
    url = "/admin/jobs/job/"

    response = action(admin, url, "cancel_jobs", [pending.pk, failed.pk])
    assert response.status_code == 302
    assert Job.objects.get(pk=pending.pk).status == JobStatus.CANCELLED
    assert Job.objects.get(pk=failed.pk).status == JobStatus.FAILED  # refused: already finished
    html = admin.get(url).content.decode()
    assert "Cannot cancel a failed job." in html

    action(admin, url, "retry_jobs", [failed.pk])
    retry = Job.objects.get(retry_of=failed)
    assert retry.status == JobStatus.PENDING and retry.parameters["steps"] == 7


def test_job_change_page_is_read_only(admin, daemon):
    job = create_job("test", {})
    page = admin.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200 and 'name="parameters"' not in page.content.decode()
    assert admin.get("/admin/jobs/job/add/").status_code == 403
