"""Run the benchmarks (`make bench`): `bench/run.py` runs them all, `bench/run.py <name> …` some.

Issue 2: the live path, job claims, memory. Issue 3: the generation check and Stash sync throughput.
Issue 12: how fast daemons react to a job's end and idle workers pick up a new job. Issue 13: Stash's
job events (a Stash job update on our dashboard, a scan in Stash seen by the generation daemon). Issue 16:
the Activity page and a daemon's timeline over a year of history.

Each result is printed on stdout as `BENCH <name> <value> <unit>`; progress and details go to stderr.
All benchmarks share one fresh PostgreSQL database and one Redis channel prefix (see bench/common.py),
removed at the end even when a benchmark fails. The exit status is non-zero if any benchmark failed.
"""

import importlib
import os
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCHMARKS = (
    "status_latency",
    "fanout",
    "job_claims",
    "memory",
    "generation_check",
    "stash_sync",
    "daemon_reaction",
    "job_pickup",
    "history",
    "stash_job_event",
    "stash_scan_detect",
)


def _terminate(signum, frame):
    # SIGTERM unwinds like Ctrl-C, so the Bench context still stops its processes and drops its database.
    raise KeyboardInterrupt


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    from bench.common import Bench, note

    failed = []
    note(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} (other work on the machine skews results)")
    with Bench() as bench:
        for name in names or BENCHMARKS:
            began = time.monotonic()
            note(f"--- {name}")
            try:
                importlib.import_module(f"bench.{name}").run(bench)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                bench.keep_files = True
            note(f"--- {name} took {time.monotonic() - began:.0f} s")
    if failed:
        note(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
