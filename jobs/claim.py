"""Claiming pending jobs, safely across many workers and processes."""

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from jobs.models import EXECUTING_STATUSES, Job, JobStatus
from jobs.types import all_kinds, get_kind
from orchestrator.returning import from_rows, returning_columns


def _saturated_types() -> list[str]:
    """Job types that already run at their concurrency limit."""
    limited = {k.type: k.max_concurrent for k in all_kinds() if k.max_concurrent}
    if not limited:
        return []
    counts = Job.objects.filter(status__in=EXECUTING_STATUSES, type__in=limited).values("type").annotate(n=Count("id"))
    return [row["type"] for row in counts if row["n"] >= limited[row["type"]]]


def _lock_type(job_type: str):
    """Serialise claims of one limited type so two workers cannot both see "one slot left".

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the IMMEDIATE transaction already holds the
    database write lock, which serialises every claim.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"orchestrator.job_type.{job_type}"])


def _within_type_limits(candidates: list[Job]) -> list[Job]:
    """Drop candidates that would exceed their type's concurrency limit (counting each other)."""
    chosen, planned = [], {}
    for job in candidates:
        kind = get_kind(job.type)
        if kind is not None and kind.max_concurrent:
            if job.type not in planned:
                _lock_type(job.type)
                planned[job.type] = Job.objects.filter(type=job.type, status__in=EXECUTING_STATUSES).count()
            if planned[job.type] >= kind.max_concurrent:
                continue
            planned[job.type] += 1
        chosen.append(job)
    return chosen


def claim_jobs(worker: str, limit: int = 1) -> list[Job]:
    """Claim up to `limit` of the oldest runnable pending jobs for `worker` (oldest first).

    Race prevented: two workers picking the same row. On PostgreSQL the candidates are locked with
    SKIP LOCKED so concurrent claimers take different rows; everywhere, the compare-and-set update
    (status still pending) guarantees that a job is claimed at most once — a row another worker took
    in between is simply not returned.
    """
    if limit < 1:
        return []
    if connection.vendor == "postgresql":
        claimed = _claim_unlimited(worker, limit)
        # Nothing claimed means that nothing is pending or that one of the oldest jobs has a type limit;
        # the checked path sorts that out. Anything claimed were the oldest claimable jobs: done.
        if claimed:
            return claimed
    return _claim_checked(worker, limit)


# The oldest claimable pending jobs, locked (SKIP LOCKED: rows another claimer holds are passed over),
# are claimed in the same statement, unless one of them has a per-type limit: those need the checked
# path's count under an advisory lock. One round trip and no explicit transaction. The CTE is evaluated
# once (FOR UPDATE keeps PostgreSQL from inlining it), so both references see the same rows.
_CLAIM_UNLIMITED = """
WITH candidates AS (
    SELECT id, type FROM {table} WHERE status = %s ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS job
SET status = %s, worker = %s, started_at = %s, heartbeat_at = %s, message = %s, updated_at = %s
FROM candidates
WHERE job.id = candidates.id AND job.status = %s
  AND NOT EXISTS (SELECT 1 FROM candidates WHERE type = ANY(%s))
RETURNING {columns}
"""


def _claim_unlimited(worker: str, limit: int) -> list[Job]:
    """PostgreSQL's fast path: claim the `limit` oldest claimable jobs if none of them has a type limit."""
    limited = [k.type for k in all_kinds() if k.max_concurrent]
    pending, now = JobStatus.PENDING.value, timezone.now()
    table, columns = connection.ops.quote_name(Job._meta.db_table), returning_columns(Job, table="job")
    params = [pending, limit, JobStatus.RUNNING.value, worker, now, now, "Started", now, pending, limited]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_UNLIMITED.format(table=table, columns=columns), params)
        claimed = from_rows(Job, cursor.fetchall())
    return sorted(claimed, key=lambda job: job.created_at)


def _claim_checked(worker: str, limit: int) -> list[Job]:
    """Claim with per-type limits: saturated types are left out, limited ones counted under a lock."""
    saturated = _saturated_types()
    with transaction.atomic():
        candidates = Job.objects.filter(status=JobStatus.PENDING).exclude(type__in=saturated)
        candidates = candidates.order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        chosen = _within_type_limits(list(candidates[: limit * 2]))[:limit]
        if not chosen:
            return []
        now = timezone.now()
        claimed_fields = {
            "status": JobStatus.RUNNING,
            "worker": worker,
            "started_at": now,
            "heartbeat_at": now,
            "message": "Started",
            "updated_at": now,
        }
        if connection.vendor == "postgresql":
            # The rows are locked by this transaction: the update cannot miss one.
            Job.objects.filter(pk__in=[j.pk for j in chosen]).update(**claimed_fields)
        else:
            chosen = [
                j for j in chosen if Job.objects.filter(pk=j.pk, status=JobStatus.PENDING).update(**claimed_fields)
            ]
    for job in chosen:
        for field, value in claimed_fields.items():
            setattr(job, field, value)
    return chosen
