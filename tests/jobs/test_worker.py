"""The job worker as a real process (`manage.py runjobs`), plus its state machine."""

import os
import signal

import pytest

from jobs import services
from jobs.models import Job, JobStatus
from tests.conftest import wait_for

pytestmark = pytest.mark.processes


def job_status(job):
    return Job.objects.get(pk=job.pk).status


def test_a_test_job_runs_with_progress_to_completion(processes):
    job = services.create_job("test", {"steps": 3, "step_seconds": 0.1})
    processes.manage("runjobs", "--concurrency", "2")
    wait_for(lambda: job_status(job) == JobStatus.COMPLETED, timeout=30, message="job completed")
    job.refresh_from_db()
    assert job.progress == 100
    assert (job.processed_items, job.total_items) == (3, 3)
    assert job.result == {"steps_completed": 3}
    assert job.started_at and job.finished_at and job.worker


def test_a_job_cancelled_while_pending_never_runs(processes):
    cancelled = services.create_job("test", {"steps": 1, "step_seconds": 0})
    services.cancel_job(cancelled)
    marker = services.create_job("test", {"steps": 1, "step_seconds": 0})
    processes.manage("runjobs")
    wait_for(lambda: job_status(marker) == JobStatus.COMPLETED, timeout=30, message="later job to run")
    cancelled.refresh_from_db()
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.started_at is None and cancelled.worker == ""


def test_cancelling_a_running_job_goes_through_cancelling_to_cancelled(processes):
    job = services.create_job("test", {"steps": 100, "step_seconds": 0.2})
    processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.RUNNING, timeout=30, message="job running")
    job.refresh_from_db()
    job = services.cancel_job(job)
    assert job.status == JobStatus.CANCELLING
    wait_for(lambda: job_status(job) == JobStatus.CANCELLED, timeout=5, message="cooperative cancel")
    job.refresh_from_db()
    assert job.progress < 100 and job.finished_at is not None


def test_the_job_of_a_killed_worker_is_recovered_by_another(processes):
    job = services.create_job("test", {"steps": 1000, "step_seconds": 0.5})
    doomed = processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.RUNNING, timeout=30, message="job running")
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=5)
    processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.FAILED, timeout=20, message="stale job recovered")
    job.refresh_from_db()
    assert "stopped responding" in job.error
    assert job.finished_at is not None


def test_sigterm_stops_the_worker_and_records_the_interrupted_job(processes):
    job = services.create_job("test", {"steps": 1000, "step_seconds": 0.2})
    worker = processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.RUNNING, timeout=30, message="job running")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Interrupted: the worker was shut down")


def test_a_failing_handler_marks_the_job_failed_with_its_error(processes):
    job = services.create_job("test", {"steps": 3, "step_seconds": 0, "fail_at_step": 2})
    processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.FAILED, timeout=30, message="job failed")
    job.refresh_from_db()
    assert job.error == "RuntimeError: Simulated failure at step 2"
    assert "Traceback" in job.result["traceback"]


def test_a_zero_step_test_job_is_a_no_op_that_completes(processes):
    job = services.create_job("test", {"steps": 0})
    processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.COMPLETED, timeout=30, message="no-op job completed")
    job.refresh_from_db()
    assert job.result == {"steps_completed": 0} and job.progress == 100
