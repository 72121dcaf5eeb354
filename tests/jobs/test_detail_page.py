"""A job's page reads well: the error first with its traceback folded, the result as a table with links,
what the job made or belongs to, the progress line of its type, and who started it."""

import uuid

import pytest
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus
from stash.downloads.models import FileStatus, HandledDownload
from stash.plans.models import AnalysisPlan

pytestmark = pytest.mark.django_db


def page(browser, job) -> str:
    response = browser.get(f"/jobs/{job.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_failed_job_says_what_went_wrong_first_and_folds_the_traceback(client, db):
    from django.contrib.auth.models import User

    viewer = User.objects.create_user("viewer", password="viewer-password-1")
    client.force_login(viewer)
    job = Job.objects.create(
        type="sync",
        status=JobStatus.FAILED,
        error="StashError: Stash answered 401: the API key was refused\nwhile reading page 3",
        traceback='Traceback (most recent call last):\n  File "/srv/app/stash/sync/run.py", line 9',
    )
    html = page(client, job)
    assert "while reading page 3" in html and "/srv/app" not in html  # no traceback for other accounts
    viewer.is_staff = True
    viewer.save()
    html = page(client, job)
    assert html.index("What went wrong") < html.index("<h2>Status</h2>")
    summary = html[html.index('class="error-summary"') :]
    assert summary[: summary.index("</p>")].endswith("the API key was refused")
    details = html[html.index('<details class="error-details"') :]
    assert "Details and traceback" in details and "/srv/app/stash/sync/run.py" in details[: details.index("</details>")]
    result = html[html.index("<h2>Result</h2>") :]
    assert "/srv/app" not in result[: result.index("<details")]  # not in the rendered result


def test_the_result_is_a_table_with_ids_as_links(browser):
    scan = uuid.uuid4()
    job = Job.objects.create(
        type="sync",
        status=JobStatus.COMPLETED,
        progress=100,
        result={
            "scenes_synced": 1204,
            "failed_scene_ids": [5, 7],
            "scan_job_id": str(scan),
            "plan_id": 3,
            "missing": {"covers": 2, "previews": 0},
        },
    )
    html = page(browser, job)
    table = html[html.index('class="table result-table"') :]
    table = table[: table.index("</table>")]
    assert '<th scope="row">Scenes synced</th><td>1,204</td>' in table
    assert 'href="/scenes/5/">5</a>, <a href="/scenes/7/">7</a>' in table
    assert f'href="/jobs/{scan}/">{str(scan)[:8]}</a>' in table and 'href="/plans/3/">Plan 3</a>' in table
    assert "Covers: 2, Previews: 0" in table


def test_an_analysis_links_its_plan_and_an_apply_job_its_plan(browser):
    analysis = Job.objects.create(type="analysis", status=JobStatus.COMPLETED)
    plan = AnalysisPlan.objects.create(name="Video analysis of 3 scenes", source_job_id=analysis.pk)
    assert f'href="/plans/{plan.pk}/">Video analysis of 3 scenes</a>' in page(browser, analysis)
    apply = Job.objects.create(type="apply_plan", status=JobStatus.PENDING, parameters={"plan_id": plan.pk})
    html = page(browser, apply)
    assert "Applies" in html and f'href="/plans/{plan.pk}/"' in html


def test_a_download_job_lists_its_files(browser):
    job = Job.objects.create(type="process_downloads", status=JobStatus.COMPLETED)
    HandledDownload.objects.create(
        torrent_hash="a" * 40,
        torrent_name="T",
        relative_path="T/a.mkv",
        source_path="/dl/T/a.mkv",
        status=FileStatus.PLACED,
        job_id=job.pk,
    )
    html = page(browser, job)
    assert "<dt>Files</dt>" in html and "T/a.mkv (Placed)" in html


def test_the_progress_line_counts_items_only_for_types_that_count_them(browser):
    generate = Job.objects.create(type="stash_generate", status=JobStatus.COMPLETED, progress=100)
    html = page(browser, generate)
    line = html[html.index('data-job-field="progress"') :]
    assert "<span data-job-items hidden>" in line[:200]  # no "0 / ? items" for Stash's percentage
    sync = Job.objects.create(type="sync", status=JobStatus.RUNNING, progress=40, processed_items=12, total_items=30)
    assert "<span data-job-items >" in page(browser, sync) or "data-job-items >" in page(browser, sync)


def test_started_by_names_the_user_or_the_daemon(browser, user):
    api = APIClient()
    api.force_authenticate(user)
    created = api.post("/api/jobs/", {"type": "test", "parameters": {}}, format="json")
    assert created.status_code == 201 and created.json()["requested_by"] == "alice"
    mine = Job.objects.get(pk=created.json()["id"])
    assert "<dd>alice</dd>" in page(browser, mine)
    theirs = Job.objects.create(type="test", created_by="auto_stash_sync")
    assert 'the daemon <a href="/daemons/auto_stash_sync/">auto_stash_sync</a>' in page(browser, theirs)
    browser.post("/jobs/run/", {"type": "test"})
    assert Job.objects.filter(requested_by="alice").count() >= 1
