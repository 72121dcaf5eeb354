"""The web server's start-up objects are out of the garbage collector's full passes (orchestrator/heap.py):
without it a full collection in daphne stalled live pushes by ~80 ms (status_latency_p99)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_loading_the_asgi_application_freezes_its_objects(proc_env):
    script = (
        "import gc, time; import orchestrator.asgi; "
        "began = time.perf_counter(); gc.collect(); "
        "print(gc.get_freeze_count(), round((time.perf_counter() - began) * 1000, 1))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=proc_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    frozen, full_collection_ms = done.stdout.split()
    assert int(frozen) > 50_000  # Django, DRF, Channels and the URLconf
    print(f"MEASURE a full collection after start-up took {full_collection_ms} ms with the objects frozen")
