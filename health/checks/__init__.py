"""The health checks: one module per check, registered here by name (imported on first use).

A check is a `Check` whose `run()` asks its dependency once, with its own short timeouts, and returns a
`Result`: ok, warning (something a person should fix; things still work, or work worse) or error (a
feature is broken), the reason in plain words, how to fix it, and facts for the page (`details`).
`run()` may block on the network: health/runner.py calls it in a thread of its own and gives up on it
after HEALTH_CHECK_TIMEOUT_SECONDS, so a hanging dependency never holds anything else up.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass
class Result:
    state: str
    reason: str
    fix: str = ""
    details: dict = field(default_factory=dict)


def ok(reason: str, **details) -> Result:
    return Result(OK, reason, "", details)


def warning(reason: str, fix: str, **details) -> Result:
    return Result(WARNING, reason, fix, details)


def error(reason: str, fix: str, **details) -> Result:
    return Result(ERROR, reason, fix, details)


def worst(results: list[Result]) -> str:
    states = {r.state for r in results}
    return ERROR if ERROR in states else WARNING if WARNING in states else OK


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    description: str
    run: Callable[[], Result]


# Page order. name → module that defines CHECK.
REGISTRY = {
    "stash": "health.checks.stash",
    "path_mappings": "health.checks.path_mappings",
    "video_analysis": "health.checks.video_analysis",
    "qbittorrent": "health.checks.qbittorrent",
    "library": "health.checks.library",
    "database": "health.checks.database",
    "redis": "health.checks.redis",
    "workers": "health.checks.workers",
    "daemons": "health.checks.daemons",
    "jobs": "health.checks.jobs",
    "notifications": "health.checks.notifications",
}


@cache
def get_check(name: str) -> Check | None:
    path = REGISTRY.get(name)
    return import_module(path).CHECK if path else None


def all_checks() -> list[Check]:
    return [get_check(name) for name in REGISTRY]
