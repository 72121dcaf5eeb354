"""The jobs API: create, list with filters and paging, detail, cancel, retry, the schema and auth."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus
from jobs.serializers import JobSerializer
from jobs.types import REGISTRY

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(db):
    client = APIClient()
    client.force_authenticate(User.objects.create_user("api-bob", password="correct-horse-battery", is_staff=True))
    return client


def job(status=JobStatus.PENDING, minutes_ago=0, type="test", created_by="", **fields) -> Job:
    row = Job.objects.create(type=type, status=status, created_by=created_by, **fields)
    Job.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    row.refresh_from_db()
    return row


def ids(response) -> list[str]:
    return [j["id"] for j in response.json()["results"]]


# --- create ------------------------------------------------------------------------------------------


def test_post_creates_a_pending_job_with_validated_parameters(api):
    response = api.post("/api/jobs/", {"type": "test", "parameters": {"steps": 2}}, format="json")
    assert response.status_code == 201
    body = response.json()
    created = Job.objects.get()
    assert body["id"] == str(created.pk)
    assert body["status"] == "pending" and created.status == JobStatus.PENDING
    assert body["parameters"] == {"steps": 2, "step_seconds": 2.0, "fail_at_step": 0}
    assert created.parameters == body["parameters"]
    assert created.created_by == ""
    assert body["url"] == created.get_absolute_url()
    assert set(body) == set(JobSerializer().fields)


def test_parameters_may_be_left_out(api):
    response = api.post("/api/jobs/", {"type": "test"}, format="json")
    assert response.status_code == 201
    assert Job.objects.get().parameters == {"steps": 5, "step_seconds": 2.0, "fail_at_step": 0}


def test_unknown_type_is_a_400_and_creates_nothing(api):
    response = api.post("/api/jobs/", {"type": "mine_bitcoin", "parameters": {}}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["type"]
    # Every registered type is listed, in order (each issue adds types).
    assert f"Available job types: {', '.join(sorted(REGISTRY))}." in response.json()["type"][0]
    assert Job.objects.count() == 0


def test_invalid_parameters_are_a_400_with_per_field_errors_and_create_nothing(api):
    body = {"type": "test", "parameters": {"steps": "five", "step_seconds": -1, "bogus": True}}
    response = api.post("/api/jobs/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["parameters"]
    assert set(errors) == {"steps", "step_seconds", "bogus"}
    assert errors["step_seconds"] == ["Must be at least 0."]
    assert all(isinstance(messages, list) for messages in errors.values())

    not_an_object = api.post("/api/jobs/", {"type": "test", "parameters": [1]}, format="json")
    assert not_an_object.status_code == 400
    assert "parameters" in not_an_object.json()
    assert Job.objects.count() == 0


def test_missing_type_unknown_keys_and_malformed_json_are_400s(api):
    missing = api.post("/api/jobs/", {"parameters": {}}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"type": ["This field is required."]}

    unknown = api.post("/api/jobs/", {"type": "test", "priority": 1}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"priority": ["Unknown field."]}

    malformed = api.generic("POST", "/api/jobs/", '{"type": "test"', content_type="application/json")
    assert malformed.status_code == 400
    assert "JSON parse error" in malformed.json()["detail"]
    assert Job.objects.count() == 0


# --- list -----------------------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_with_limit_and_offset(api):
    old = job(minutes_ago=30)
    middle = job(minutes_ago=20)
    new = job(minutes_ago=10)
    response = api.get("/api/jobs/")
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert ids(response) == [str(new.pk), str(middle.pk), str(old.pk)]

    page = api.get("/api/jobs/?limit=1&offset=1")
    assert ids(page) == [str(middle.pk)]
    assert page.json()["previous"] is not None and page.json()["next"] is not None


def test_list_filters_by_type_status_and_daemon(api):
    pending = job(JobStatus.PENDING, 3)
    failed = job(JobStatus.FAILED, 2, created_by="test")
    synced = job(JobStatus.COMPLETED, 1, type="sync", created_by="auto_stash_sync")

    assert ids(api.get("/api/jobs/?type=sync")) == [str(synced.pk)]
    assert ids(api.get("/api/jobs/?type=test&status=failed")) == [str(failed.pk)]
    assert ids(api.get("/api/jobs/?status=pending,failed")) == [str(failed.pk), str(pending.pk)]
    assert ids(api.get("/api/jobs/?status=pending&status=completed")) == [str(synced.pk), str(pending.pk)]
    assert ids(api.get("/api/jobs/?daemon=test")) == [str(failed.pk)]
    assert ids(api.get("/api/jobs/?daemon=auto_stash_sync&status=completed")) == [str(synced.pk)]
    assert api.get("/api/jobs/?daemon=&status=").json()["count"] == 3


def test_listing_costs_a_fixed_number_of_queries(api, django_assert_num_queries):
    for n in range(30):
        job(JobStatus.FAILED, n)
    with django_assert_num_queries(2):  # the count, the page
        assert len(ids(api.get("/api/jobs/?status=failed&limit=20"))) == 20


def test_a_page_never_exceeds_the_maximum_size(api, monkeypatch):
    from orchestrator.api import Paging

    monkeypatch.setattr(Paging, "max_limit", 2)
    for n in range(3):
        job(minutes_ago=n)
    page = api.get("/api/jobs/?limit=100000").json()
    assert len(page["results"]) == 2 and page["count"] == 3


def test_invalid_filter_values_are_a_400_with_a_clear_message(api):
    bad_status = api.get("/api/jobs/?status=done")
    assert bad_status.status_code == 400
    assert bad_status.json() == {
        "status": ["Unknown status 'done'. Valid statuses: pending, running, cancelling, completed, failed, cancelled."]
    }
    bad_type = api.get("/api/jobs/?type=test,nope")
    assert bad_type.status_code == 400
    assert bad_type.json()["type"][0].startswith("Unknown job type 'nope'. Valid job types: sync, sync_scenes")


# --- detail ------------------------------------------------------------------------------------------------


def test_detail_returns_the_whole_state_and_unknown_or_malformed_ids_are_404(api):
    row = job(JobStatus.RUNNING, progress=42.5, message="Processed 2/5 test steps", parameters={"steps": 5})
    response = api.get(f"/api/jobs/{row.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["progress"], body["message"]) == ("running", 42.5, "Processed 2/5 test steps")
    assert body["can_cancel"] is True and body["can_retry"] is False
    assert {k: v for k, v in body.items() if k in row.to_state()} == row.to_state()

    for missing in (uuid.uuid4(), "not-a-uuid"):
        not_found = api.get(f"/api/jobs/{missing}/")
        assert not_found.status_code == 404
        assert not_found.json() == {"detail": "Job not found."}
        assert api.post(f"/api/jobs/{missing}/cancel/").status_code == 404
        assert api.post(f"/api/jobs/{missing}/retry/").status_code == 404


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_pending_job_is_cancelled_at_once(api):
    pending = job()
    response = api.post(f"/api/jobs/{pending.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    pending.refresh_from_db()
    assert pending.status == JobStatus.CANCELLED and pending.finished_at is not None


def test_cancel_running_job_asks_it_to_stop(api):
    running = job(JobStatus.RUNNING)
    response = api.post(f"/api/jobs/{running.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelling"
    running.refresh_from_db()
    assert running.status == JobStatus.CANCELLING and running.cancel_requested_at is not None


def test_cancelling_a_finished_job_is_a_409_and_changes_nothing(api):
    done = job(JobStatus.COMPLETED)
    response = api.post(f"/api/jobs/{done.pk}/cancel/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Cannot cancel a completed job."}
    done.refresh_from_db()
    assert done.status == JobStatus.COMPLETED and done.cancel_requested_at is None
    assert api.get(f"/api/jobs/{done.pk}/cancel/").status_code == 405


# --- retry ----------------------------------------------------------------------------------------------------


def test_retry_creates_a_new_job_with_the_original_parameters_only(api):
    failed = job(
        JobStatus.FAILED,
        parameters={"steps": 3, "step_seconds": 0.5, "fail_at_step": 2},
        error="Simulated failure at step 2",
        message="Failed",
        progress=66.7,
        result={"partial": True},
        worker="host:1",
        external_id="17",
    )
    response = api.post(f"/api/jobs/{failed.pk}/retry/")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != str(failed.pk)
    assert body["retry_of_id"] == str(failed.pk)
    retried = Job.objects.get(pk=body["id"])
    assert retried.status == JobStatus.PENDING
    assert retried.parameters == failed.parameters
    assert (retried.error, retried.result, retried.progress, retried.worker, retried.external_id) == (
        "",
        None,
        0,
        "",
        "",
    )
    assert Job.objects.count() == 2

    cancelled = job(JobStatus.CANCELLED)
    assert api.post(f"/api/jobs/{cancelled.pk}/retry/").status_code == 201


def test_retrying_a_job_that_did_not_fail_or_get_cancelled_is_a_409(api):
    for status in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED):
        row = job(status)
        response = api.post(f"/api/jobs/{row.pk}/retry/")
        assert response.status_code == 409
        assert response.json()["detail"].startswith(f"Cannot retry a {status} job")
    assert Job.objects.count() == 3


# --- schema and auth -------------------------------------------------------------------------------------------


def test_the_openapi_schema_describes_the_api(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/daemons/",
        "/api/daemons/{name}/",
        "/api/daemons/{name}/start/",
        "/api/daemons/start-all/",
        "/api/daemons/{name}/logs/",
        "/api/daemons/{name}/history/",
        "/api/jobs/",
        "/api/jobs/{job_id}/",
        "/api/jobs/{job_id}/cancel/",
        "/api/jobs/{job_id}/retry/",
    ):
        assert path in paths
    assert "post" in paths["/api/jobs/"] and "patch" in paths["/api/daemons/{name}/"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/jobs/{job_id}/retry/" in (tmp_path / "schema.yaml").read_text()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/jobs/"),
        ("post", "/api/jobs/"),
        ("get", "/api/jobs/{id}/"),
        ("post", "/api/jobs/{id}/cancel/"),
        ("post", "/api/jobs/{id}/retry/"),
    ],
)
def test_anonymous_requests_get_nothing_and_change_nothing(method, path):
    row = job(JobStatus.FAILED)
    client = APIClient()
    response = getattr(client, method)(path.format(id=row.pk), {"type": "test"}, format="json")
    assert response.status_code in (401, 403)
    assert str(row.pk).encode() not in response.content
    assert list(Job.objects.values_list("pk", "status")) == [(row.pk, JobStatus.FAILED)]
