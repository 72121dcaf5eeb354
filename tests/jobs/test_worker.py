"""The job worker as a real process (`manage.py runjobs`), plus its state machine."""

import json
import os
import signal
import subprocess
import sys

import pytest

from jobs import services
from jobs.models import Job, JobStatus
from tests.conftest import ROOT, wait_for

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
    # The traceback (absolute server paths) is for admins (the admin's job page, the worker's log), not
    # in the result every API client and page reads.
    assert "Traceback" in job.traceback and "/jobs/types/test.py" in job.traceback
    assert job.result is None
    assert "Traceback" not in json.dumps(job.to_state())


def test_a_zero_step_test_job_is_a_no_op_that_completes(processes):
    job = services.create_job("test", {"steps": 0})
    processes.manage("runjobs")
    wait_for(lambda: job_status(job) == JobStatus.COMPLETED, timeout=30, message="no-op job completed")
    job.refresh_from_db()
    assert job.result == {"steps_completed": 0} and job.progress == 100


def run_manage(env, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_once_runs_what_is_pending_for_its_slots_to_the_end_then_exits_zero(proc_env):
    jobs = [services.create_job("test", {"steps": 2, "step_seconds": 0.1}) for _ in range(3)]
    result = run_manage(proc_env, "runjobs", "--once", "--concurrency", "2")
    assert result.returncode == 0, result.stderr
    statuses = [job_status(job) for job in jobs]
    assert statuses == [JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.PENDING]  # oldest first, two slots
    assert not Job.objects.filter(status__in=[JobStatus.RUNNING, JobStatus.CANCELLING]).exists()


def test_once_with_nothing_pending_exits_zero_at_once(proc_env):
    result = run_manage(proc_env, "runjobs", "--once")
    assert result.returncode == 0, result.stderr
    assert not Job.objects.exists()


def test_max_jobs_exits_after_that_many_jobs_ended_and_claims_no_more(proc_env, processes):
    first = services.create_job("test", {"steps": 1, "step_seconds": 0})
    worker = processes.manage("runjobs", "--max-jobs", "2", "--concurrency", "1")
    wait_for(lambda: job_status(first) == JobStatus.COMPLETED, timeout=30, message="the first job")
    assert worker.poll() is None  # one job ended out of two: it waits for the next one
    second, third = (services.create_job("test", {"steps": 1, "step_seconds": 0}) for _ in range(2))
    assert worker.wait(timeout=30) == 0
    assert (job_status(second), job_status(third)) == (JobStatus.COMPLETED, JobStatus.PENDING)


def test_max_jobs_must_be_positive(proc_env):
    result = run_manage(proc_env, "runjobs", "--max-jobs", "0")
    assert result.returncode != 0
    assert "--max-jobs must be at least 1" in result.stderr
