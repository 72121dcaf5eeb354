"""Claiming the next pending job, safely across many workers and processes."""

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from jobs.models import EXECUTING_STATUSES, Job, JobStatus
from jobs.types import REGISTRY

CLAIM_BATCH = 3


def _saturated_types() -> list[str]:
    """Job types that already run at their concurrency limit."""
    limited = {t: k.max_concurrent for t, k in REGISTRY.items() if k.max_concurrent}
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


def claim_next(worker: str) -> Job | None:
    """Claim the oldest runnable pending job for `worker`, or return None.

    Race prevented: two workers picking the same row. On PostgreSQL the candidates are locked with
    SKIP LOCKED so concurrent claimers take different rows; everywhere, the final compare-and-set
    (status still pending) guarantees a job is claimed at most once.
    """
    saturated = _saturated_types()
    with transaction.atomic():
        candidates = Job.objects.filter(status=JobStatus.PENDING).exclude(type__in=saturated)
        candidates = candidates.order_by("created_at").only("id", "type")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        for job in candidates[:CLAIM_BATCH]:
            kind = REGISTRY.get(job.type)
            if kind is not None and kind.max_concurrent:
                _lock_type(job.type)
                running = Job.objects.filter(type=job.type, status__in=EXECUTING_STATUSES).count()
                if running >= kind.max_concurrent:
                    continue
            now = timezone.now()
            claimed = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                status=JobStatus.RUNNING,
                worker=worker,
                started_at=now,
                heartbeat_at=now,
                message="Started",
                updated_at=now,
            )
            if claimed:
                return Job.objects.get(pk=job.pk)
    return None
