"""The job-type registry: one module per job type, one line per type here.

A job type is a `JobKind`: its label, its handler, its parameter schema (validated at creation, by the
API, the "run a job" form and daemons alike) and its concurrency limit, enforced when a worker claims a
job. REGISTRY maps each type to the dotted path of its JobKind, imported on first use: a process loads
only the types it touches (a daemon host, the one it launches), and no type module is imported by this
package (they import jobs.services, which needs the registry).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.utils.module_loading import import_string

from orchestrator.typed import Schema


@dataclass(frozen=True)
class JobKind:
    type: str
    label: str  # what pages call the type ("Stash metadata scan")
    handler: Callable  # handler(ctx: JobContext, params: dict) -> dict | None (the job's result)
    parameters: Schema
    description: str
    # At most this many jobs of the type execute at once across all workers (None: no limit).
    max_concurrent: int | None = None
    # Checks the schema cannot make (the database, Stash): check(clean) -> {field: [messages]}; it may
    # normalise values of `clean` in place. Run when a job is created (API, pages, daemons, retries).
    check: Callable | None = None


# In the order pages list the types.
REGISTRY: dict[str, str] = {
    "sync": "jobs.types.sync.KIND",
    "sync_scenes": "jobs.types.sync_scenes.KIND",
    "analysis": "jobs.types.analysis.KIND",
    "apply_plan": "jobs.types.apply_plan.KIND",
    "process_downloads": "jobs.types.process_downloads.KIND",
    "stash_scan": "jobs.types.stash_scan.KIND",
    "stash_generate": "jobs.types.stash_generate.KIND",
    "check_stash_generate": "jobs.types.check_stash_generate.KIND",
    "test": "jobs.types.test.KIND",
}


@cache
def _load(path: str) -> JobKind:
    return import_string(path)


def get_kind(job_type: str) -> JobKind | None:
    """The registered JobKind of `job_type` (its module imported now if it was not yet), else None."""
    path = REGISTRY.get(job_type)
    return _load(path) if path else None


def all_kinds() -> list[JobKind]:
    """Every registered JobKind, in REGISTRY's order (imports every type module)."""
    return [get_kind(job_type) for job_type in REGISTRY]
