"""The job worker under faults (issue 14, items 14 and 16): its connections terminated, Stash hanging."""

import signal
import time

import pytest

from jobs import services
from jobs.models import Job, JobStatus
from tests.conftest import wait_for
from tests.faults import SilentServer, terminate_backends

pytestmark = pytest.mark.processes


@pytest.fixture
def silent_stash():
    with SilentServer() as server:
        yield server


def job_row(job) -> Job:
    return Job.objects.get(pk=job.pk)


def test_a_worker_whose_connections_are_terminated_carries_on(processes):
    running = services.create_job("test", {"steps": 30, "step_seconds": 0.1})
    worker = processes.manage("runjobs", "--concurrency", "2")
    wait_for(lambda: job_row(running).status == JobStatus.RUNNING, timeout=30, message="job running")

    assert terminate_backends() >= 1
    began = time.monotonic()
    # The job running at that moment ends, one way or the other, with the reason: never "running" forever.
    ended = wait_for(lambda: (j := job_row(running)).is_finished and j, timeout=15, message="the running job to end")
    assert ended.status in (JobStatus.COMPLETED, JobStatus.FAILED)
    if ended.status == JobStatus.FAILED:
        assert ended.error and "connection" in ended.error.lower()
    assert ended.worker == job_row(running).worker  # ended by its own worker, not recovered as abandoned
    assert "abandoned" not in (ended.error or "")

    # And the worker is still there and takes new work.
    later = services.create_job("test", {"steps": 1, "step_seconds": 0})
    wait_for(lambda: job_row(later).status == JobStatus.COMPLETED, timeout=10, message="a new job to run")
    print(f"MEASURE worker ran a new job {time.monotonic() - began:.2f} s after pg_terminate_backend")
    assert worker.poll() is None
    assert time.monotonic() - began < 10


def test_sigterm_ends_a_worker_within_10_s_while_a_stash_call_hangs(processes, silent_stash):
    job = services.create_job("sync", {})
    env = {**processes.env, "STASH_URL": silent_stash.url}
    worker = processes.manage("runjobs", env=env)
    wait_for(lambda: silent_stash.requests >= 1, timeout=30, message="a Stash call in flight")
    began = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=12)
    took = time.monotonic() - began
    print(f"MEASURE worker exited {took:.2f} s after SIGTERM with a Stash call in flight")
    assert code == 0
    assert took < 10
    ended = job_row(job)
    assert ended.status == JobStatus.FAILED
    assert ended.error.startswith("Interrupted: the worker was shut down")
