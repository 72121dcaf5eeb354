"""The live groups, named once: what a page may subscribe to and which group carries it.

A list's group ("daemons", "jobs") is also the carrier of its pages' groups ("daemon.<name>",
"job.<id>"): a job's update is sent once for the jobs list and the job's page, and one subscription per
web process covers every job page.
"""

import re

DAEMONS = "daemons"
JOBS = "jobs"

# Page group prefix → (its carrier, what may follow the dot in a subscription).
_PAGES = {"daemon": (DAEMONS, r"[-a-z0-9_]{1,80}"), "job": (JOBS, r"[0-9a-f-]{36}")}
_CARRIERS = {prefix: carrier for prefix, (carrier, _) in _PAGES.items()}

# The groups a socket may subscribe to; anything else in ?subscribe= is ignored.
SUBSCRIBABLE = re.compile(
    "^(" + "|".join([DAEMONS, JOBS, *(rf"{prefix}\.{key}" for prefix, (_, key) in _PAGES.items())]) + ")$"
)


def daemon_group(name: str) -> str:
    return f"daemon.{name}"


def job_group(job_id) -> str:
    return f"job.{job_id}"


def page_key(group: str) -> str:
    """What a page group names: daemon.<name> → name, job.<id> → id."""
    return group.split(".", 1)[1]


def carrier(group: str) -> str:
    """The channel-layer group that carries the updates of `group` (job.<id> → jobs, daemon.<name> → daemons)."""
    kind, dot, _ = group.partition(".")
    return _CARRIERS.get(kind, group) if dot else group
