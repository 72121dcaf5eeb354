"""Job state machine, claims, limits, retry and retention, in-process."""

import dataclasses
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from jobs import services
from jobs.claim import claim_jobs
from jobs.models import Job, JobStatus
from jobs.types import REGISTRY, get_kind


def claim_next(worker):
    claimed = claim_jobs(worker, 1)
    return claimed[0] if claimed else None


def make(n=1, **params):
    return [services.create_job("test", {"steps": 1, "step_seconds": 0, **params}) for _ in range(n)]


@pytest.mark.django_db
def test_unknown_type_and_invalid_parameters_are_refused_and_nothing_is_created():
    with pytest.raises(services.JobError) as unknown:
        services.create_job("nope", {})
    # Every registered type is listed, in order (each issue adds types).
    assert f"Available job types: {', '.join(sorted(REGISTRY))}." in unknown.value.message
    with pytest.raises(services.JobError) as bad:
        services.create_job("test", {"steps": "five", "bogus": 1, "step_seconds": -1})
    assert bad.value.errors["parameters"] == {
        "bogus": ["Unknown field."],
        "steps": ["Must be an integer."],
        "step_seconds": ["Must be at least 0."],
    }
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_parameters_get_their_defaults():
    job = services.create_job("test", {"steps": 2})
    assert job.parameters == {"steps": 2, "step_seconds": 2.0, "fail_at_step": 0}
    assert job.status == JobStatus.PENDING


@pytest.mark.django_db
def test_claim_takes_the_oldest_pending_job_once():
    first, second = make(2)
    assert claim_next("w1").pk == first.pk
    assert claim_next("w2").pk == second.pk
    assert claim_next("w3") is None
    first.refresh_from_db()
    assert (first.status, first.worker) == (JobStatus.RUNNING, "w1")


@pytest.mark.django_db
def test_cancelling_pending_running_and_finished_jobs():
    pending, running, done = make(3)
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING)
    Job.objects.filter(pk=done.pk).update(status=JobStatus.COMPLETED)
    running.refresh_from_db()
    done.refresh_from_db()
    assert services.cancel_job(pending).status == JobStatus.CANCELLED
    assert services.cancel_job(running).status == JobStatus.CANCELLING
    with pytest.raises(services.JobStateError, match="Cannot cancel a completed job"):
        services.cancel_job(done)
    done.refresh_from_db()
    assert done.status == JobStatus.COMPLETED and done.cancel_requested_at is None
    assert claim_next("w") is None  # the cancelled pending job is never claimed


@pytest.mark.django_db
def test_retry_copies_the_original_parameters_only():
    (job,) = make(1, steps=7)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, result={"x": 1}, error="boom", external_id="42", worker="w", created_by="test"
    )
    job.refresh_from_db()
    new = services.retry_job(job)
    assert new.pk != job.pk and new.retry_of_id == job.pk
    assert new.parameters == job.parameters
    assert (new.status, new.result, new.error, new.external_id, new.worker) == (JobStatus.PENDING, None, "", "", "")
    with pytest.raises(services.JobStateError):
        services.retry_job(new)


@pytest.mark.django_db
def test_stale_running_jobs_are_recovered_and_fresh_ones_kept(settings):
    stale, fresh, cancelling = make(3)
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=stale.pk).update(status=JobStatus.RUNNING, heartbeat_at=old, worker="gone")
    Job.objects.filter(pk=fresh.pk).update(status=JobStatus.RUNNING, heartbeat_at=timezone.now(), worker="alive")
    Job.objects.filter(pk=cancelling.pk).update(status=JobStatus.CANCELLING, heartbeat_at=old, worker="gone")
    assert services.recover_stale_jobs() == 2
    assert Job.objects.get(pk=stale.pk).status == JobStatus.FAILED
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=cancelling.pk).status == JobStatus.CANCELLED
    assert "Worker gone stopped responding" in Job.objects.get(pk=stale.pk).error


@pytest.mark.django_db
def test_finished_jobs_past_retention_are_purged(settings):
    old, recent, running = make(3)
    long_ago = timezone.now() - timedelta(days=settings.JOB_RETENTION_DAYS + 1)
    Job.objects.filter(pk=old.pk).update(status=JobStatus.COMPLETED, finished_at=long_ago)
    Job.objects.filter(pk=recent.pk).update(status=JobStatus.COMPLETED, finished_at=timezone.now())
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING, created_at=long_ago)
    assert services.purge_finished_jobs() == 1
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}


# The test type with a concurrency limit of one, registered by dotted path like any type.
LIMITED_TEST = dataclasses.replace(get_kind("test"), max_concurrent=1)


@pytest.fixture
def limited_test_type(monkeypatch):
    monkeypatch.setitem(REGISTRY, "test", f"{__name__}.LIMITED_TEST")


@pytest.mark.django_db
def test_a_batch_claim_takes_the_oldest_jobs_and_respects_the_type_limit(limited_test_type):
    make(3)
    assert len(claim_jobs("w1", 5)) == 1
    assert claim_jobs("w2", 5) == []


@pytest.mark.django_db
def test_a_batch_claim_returns_claimed_rows_oldest_first():
    jobs = make(4)
    claimed = claim_jobs("w1", 3)
    assert [j.pk for j in claimed] == [j.pk for j in jobs[:3]]
    assert all(j.status == JobStatus.RUNNING and j.worker == "w1" for j in claimed)
    assert Job.objects.filter(status=JobStatus.RUNNING, worker="w1").count() == 3


@pytest.mark.django_db
def test_per_type_limit_is_enforced_at_claim_time(limited_test_type):
    make(2)
    assert claim_next("w1") is not None
    assert claim_next("w2") is None  # the second waits in pending; no slot is blocked
    Job.objects.filter(status=JobStatus.RUNNING).update(status=JobStatus.COMPLETED)
    assert claim_next("w2") is not None


def _claim_concurrently(workers: int) -> list:
    claimed, barrier = [], threading.Barrier(workers)

    def run(name):
        barrier.wait()
        try:
            while claimed_now := claim_jobs(name, 3):
                claimed.extend(job.pk for job in claimed_now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claimed


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_never_claim_a_job_twice():
    make(60)
    claimed = _claim_concurrently(4)
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_respect_the_type_limit(limited_test_type):
    make(10)
    claimed = _claim_concurrently(4)
    assert len(claimed) == 1
    assert Job.objects.filter(status=JobStatus.RUNNING).count() == 1


@pytest.mark.django_db
def test_non_finite_numbers_are_refused():
    with pytest.raises(services.JobError) as bad:
        services.create_job("test", {"step_seconds": float("nan")})
    assert bad.value.errors["parameters"] == {"step_seconds": ["Must be a finite number."]}
