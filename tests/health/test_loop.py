"""`manage.py runhealth` as a process: it stores every check's result, runs a requested check at once,
and stops within a second or two of SIGTERM even while a check hangs on its dependency."""

import signal
import socket
import time

import pytest

from health.checks import REGISTRY
from health.loop import request
from health.models import HealthCheck
from tests.conftest import wait_for

pytestmark = pytest.mark.processes


@pytest.fixture
def hanging_tagger():
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_runhealth_stores_results_runs_requests_and_stops_at_once(processes, hanging_tagger):
    processes.env = {
        **processes.env,
        "HEALTH_FIRST_DELAY_SECONDS": "0",
        "HEALTH_CHECK_INTERVAL_SECONDS": "3600",
        "HEALTH_CHECK_TIMEOUT_SECONDS": "60",
        "VIDEO_TAGGER_URL": hanging_tagger,
    }
    health = processes.manage("runhealth")
    others = [name for name in REGISTRY if name != "video_analysis"]
    wait_for(
        lambda: HealthCheck.objects.filter(name__in=others, last_run_at__isnull=False).count() == len(others),
        timeout=90,
        message="every check but the hanging one stored",
    )
    assert HealthCheck.objects.get(name="database").state == "ok"

    ran_at = HealthCheck.objects.get(name="database").last_run_at
    request("database")  # as the API's "check now" does
    wait_for(
        lambda: HealthCheck.objects.filter(name="database", requested_at=None, last_run_at__gt=ran_at).exists(),
        timeout=30,
        message="the requested check to run",
    )

    health.send_signal(signal.SIGTERM)
    assert health.wait(timeout=15) == 0, processes.output(health)

    # Again, with Stash hanging too (the Stash check waits up to 10 s for an answer): stopped mid-round.
    processes.env = {**processes.env, "STASH_URL": hanging_tagger}
    started_at = HealthCheck.objects.get(name="database").last_run_at
    HealthCheck.objects.update(requested_at=started_at)  # every check due again
    health = processes.manage("runhealth")
    wait_for(
        lambda: HealthCheck.objects.filter(name="database", last_run_at__gt=started_at).exists(),
        timeout=60,
        message="the second round under way",
    )
    stash_ran = HealthCheck.objects.get(name="stash").last_run_at
    started = time.monotonic()
    health.send_signal(signal.SIGTERM)
    assert health.wait(timeout=15) == 0, processes.output(health)
    assert time.monotonic() - started < 5  # not the hanging checks' deadlines
    assert HealthCheck.objects.get(name="stash").last_run_at == stash_ran  # it was still waiting on Stash
