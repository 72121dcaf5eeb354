"""The Jobs pages: active jobs and history, a job's detail with Cancel and Retry, and the run form."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import create_job
from tests.pages import finished_job

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
