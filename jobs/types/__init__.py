"""The job-type registry: one module per job type, one line per type here.

A job type is a `JobKind`: its handler, its parameter schema (validated at creation, by the API, the
"run a job" form and daemons alike) and its concurrency limit, enforced when a worker claims a job.
"""

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.typed import Schema


@dataclass(frozen=True)
class JobKind:
    type: str
    handler: Callable  # handler(ctx: JobContext, params: dict) -> dict | None (the job's result)
    parameters: Schema
    description: str
    # At most this many jobs of the type execute at once across all workers (None: no limit).
    max_concurrent: int | None = None


def _build_registry() -> dict[str, JobKind]:
    from jobs.types import (
        analysis,
        apply_plan,
        check_stash_generate,
        process_downloads,
        stash_generate,
        stash_scan,
        sync,
        sync_scenes,
        test,
    )

    kinds = [sync.KIND, sync_scenes.KIND, stash_scan.KIND, stash_generate.KIND, check_stash_generate.KIND, test.KIND]
    kinds.append(analysis.KIND)
    kinds.append(apply_plan.KIND)
    kinds.append(process_downloads.KIND)
    return {kind.type: kind for kind in kinds}


REGISTRY: dict[str, JobKind] = _build_registry()


def get_kind(job_type: str) -> JobKind | None:
    return REGISTRY.get(job_type)
