"""job_pickup_p95: `create_job` commit → the job is running on an idle `runjobs` worker.

One worker (default settings: JOB_POLL_SECONDS 0.5, the fallback) idles; this process creates one
no-op job at a time (the `test` type with steps=0) through jobs.services.create_job, in autocommit, and
waits for it to end before the next, after a pause that lets the worker go back to its idle wait. The
latency is the job's started_at (taken by the worker's claim) minus the wall time at which create_job
returned (just after its commit). The first WARMUP jobs are left out (first connections, first Redis
round trip).
"""

import random
import time

from bench.common import Bench, emit, note, percentile, wait_for

JOBS = 200
WARMUP = 10
# Between jobs: long enough for the worker to be back in its idle wait, short enough to keep it brief.
PAUSE_SECONDS = (0.02, 0.08)


def run(bench: Bench):
    from jobs.models import Job, JobStatus
    from jobs.services import create_job

    worker = bench.manage("runjobs-pickup", "runjobs", "--concurrency", "2")
    latencies = []
    try:
        wait_for(lambda: bench.check_alive(worker) or "Job worker" in bench.output(worker), 60, "the worker")
        time.sleep(1.0)  # past its start-up maintenance: idle in its wait
        for n in range(JOBS + WARMUP):
            time.sleep(random.uniform(*PAUSE_SECONDS))
            job = create_job("test", {"steps": 0})
            committed = time.time()
            finished = Job.objects.filter(pk=job.pk, status=JobStatus.COMPLETED)
            wait_for(lambda f=finished: bench.check_alive(worker) or f.exists(), 30, "the job to complete", 0.002)
            if n >= WARMUP:
                started = Job.objects.values_list("started_at", flat=True).get(pk=job.pk)
                latencies.append((started.timestamp() - committed) * 1000)
    finally:
        bench.stop([worker])
        Job.objects.all().delete()
    note(f"pickup over {len(latencies)} jobs: p50 {percentile(latencies, 50):.2f} ms, max {max(latencies):.2f} ms")
    emit("job_pickup_p95", percentile(latencies, 95), "ms")
