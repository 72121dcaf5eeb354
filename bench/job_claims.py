"""job_claims_per_s and job_double_claims: 4 `runjobs --concurrency 4` workers drain 10,000 no-op jobs.

The no-op job is the `test` job type with steps=0: its handler returns at once, so each job is its share of
a batched claim + the finish write (+ the two live pushes, running and completed).
The workers start first and idle; the 10,000 pending jobs are then committed at once (bulk_create,
parameters validated once), and the clock runs from that commit to the last job's finished_at.

Double claims are counted by the database, independently of the workers' code: a trigger this benchmark
puts on the job table records every transition into "running" (a claim) with the claiming worker, so a job
claimed twice has two rows. The workers' own evidence is added: a worker whose final compare-and-set in
Worker._finish finds the job no longer its own logs "was no longer ours". The outcome of every job is
reported on stderr too (a failed or lost job is not a double claim, but it is worth knowing about).
"""

import time

from bench.common import Bench, emit, note, run_sql, wait_for

JOBS = 10_000
WORKERS = 4
CONCURRENCY = 4
# Keeps the whole `make bench` under five minutes; a slower run reports the rate of what completed.
TIMEOUT_SECONDS = 110.0
WORKER_ENV = {"JOB_POLL_SECONDS": "0.05"}

AUDIT = (
    "CREATE TABLE bench_job_claims (job_id uuid, worker text, claimed_at timestamptz DEFAULT clock_timestamp())",
    """CREATE FUNCTION bench_record_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO bench_job_claims (job_id, worker) VALUES (NEW.id, NEW.worker);
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER bench_record_claim AFTER UPDATE ON {table} FOR EACH ROW
       WHEN (NEW.status = 'running' AND OLD.status IS DISTINCT FROM 'running')
       EXECUTE FUNCTION bench_record_claim()""",
)
UNAUDIT = (
    "DROP TRIGGER IF EXISTS bench_record_claim ON {table}",
    "DROP FUNCTION IF EXISTS bench_record_claim()",
    "DROP TABLE IF EXISTS bench_job_claims",
)


def run(bench: Bench):
    from jobs.models import Job

    table = Job._meta.db_table
    run_sql(AUDIT, table=table)
    try:
        finished, elapsed, workers = drain(bench)
        double, claimed = _double_claims()
        outcomes = _outcomes()
    finally:
        run_sql(UNAUDIT, table=table)
        # Leftovers of a timed-out run would keep the next benchmark's job worker busy.
        Job.objects.all().delete()
    lost_ownership = sum(bench.output(w).count("was no longer ours") for w in workers)
    note(f"{finished} of {JOBS} jobs completed in {elapsed:.2f} s; {claimed} claims recorded; outcomes {outcomes}")
    note(f"double claims: {double} recorded by the trigger, {lost_ownership} 'no longer ours' in worker logs")
    emit("job_claims_per_s", finished / elapsed, "claims/s")
    emit("job_double_claims", double + lost_ownership, "claims")


def drain(bench: Bench) -> tuple[int, float, list]:
    """Start the workers, enqueue every job at once, wait until none is active (or TIMEOUT_SECONDS).

    Returns (jobs completed, seconds from the enqueue commit to the last finished_at, the workers).
    """
    from django.db.models import Max

    from jobs.models import Job, JobStatus

    env = {**bench.env, **WORKER_ENV}
    workers = [
        bench.manage(f"runjobs-{n}", "runjobs", "--concurrency", str(CONCURRENCY), env=env) for n in range(WORKERS)
    ]
    try:

        def ready():
            bench.check_alive(*workers)
            return all("Job worker" in bench.output(w) for w in workers)

        wait_for(ready, 60, "the workers to start")
        activity = _db_activity()
        committed = enqueue()
        wait_drained(bench, workers)
        time.sleep(1.0)  # PostgreSQL publishes session statistics about once a second
        sessions, commits = (after - before for after, before in zip(_db_activity(), activity, strict=True))
        note(f"database work while draining: {sessions} connections opened, {commits} transactions committed")
    finally:
        bench.stop(workers)
    # Completed only: jobs a stopped worker marks "interrupted" after a timeout must not count as done.
    completed = Job.objects.filter(status=JobStatus.COMPLETED)
    last = completed.aggregate(last=Max("finished_at"))["last"]
    return completed.count(), last.timestamp() - committed, workers


def wait_drained(bench: Bench, workers: list):
    """Wait until no job is pending or running, or TIMEOUT_SECONDS have passed."""
    from jobs.models import ACTIVE_STATUSES, Job

    active = Job.objects.filter(status__in=ACTIVE_STATUSES)

    def drained():
        bench.check_alive(*workers)
        return not active.exists()

    with bench.cpu_usage(workers):
        try:
            wait_for(drained, TIMEOUT_SECONDS, "the workers to finish every job", interval=0.2)
        except TimeoutError as err:
            note(f"WARNING: {err}; reporting the rate of the jobs that did finish")


def enqueue() -> float:
    """Commit JOBS pending no-op jobs in one transaction; returns the commit's wall time."""
    from django.db import transaction

    from jobs.models import Job
    from jobs.services import validate_job_request

    parameters = validate_job_request("test", {"steps": 0})
    jobs = [Job(type="test", parameters=parameters, message="Waiting for a worker") for _ in range(JOBS)]
    with transaction.atomic():
        Job.objects.bulk_create(jobs, batch_size=1000)
    return time.time()


def _db_activity() -> tuple[int, int]:
    """(connections opened, transactions committed) on the benchmark database so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()


def _double_claims() -> tuple[int, int]:
    """(claims beyond the first of each job, all claims) as recorded by the trigger."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT job_id) FROM bench_job_claims")
        claims, jobs = cursor.fetchone()
    return claims - jobs, claims


def _outcomes() -> dict:
    from django.db.models import Count

    from jobs.models import Job

    return {row["status"]: row["n"] for row in Job.objects.values("status").annotate(n=Count("id"))}
