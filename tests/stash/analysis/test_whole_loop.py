"""The whole loop with real processes: video analysis (tagger stand-in) → plan → auto-approve → apply to
the Stash emulator → the sync daemon brings the new tags and markers back into the mirror.

Four daemon hosts and a worker run as subprocesses; the emulator and the tagger stand-in answer over HTTP.
"""

import pytest

from daemons import services
from daemons.models import Daemon
from stash.connection.config import get_client
from stash.models import Scene, SceneMarker, Tag
from stash.plans.models import AnalysisPlan, PlanStatus
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import wait_for
from tests.video_tagger import TaggerStandIn

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

ANSWER = {
    "result": {
        "video_tag_info": {
            "video_tags": {"actions": ["Sunset"]},
            "tag_timespans": {"actions": {"Sunset": [{"start": 12, "end": 18}]}},
        }
    }
}


@pytest.fixture
def tagger():
    stand_in = TaggerStandIn().start()
    stand_in.reply(ANSWER)
    yield stand_in
    stand_in.stop()


def run_daemon(processes, env, name: str, **config):
    services.update_configuration(Daemon.objects.get(name=name), config, partial=True)
    processes.manage("rundaemon", name, env=env)
    services.start(Daemon.objects.get(name=name))


def test_analysis_to_plan_to_stash_and_back(stash_emulator, proc_env, processes, tagger):
    store = stash_emulator.store
    SyncRun(get_client(), SyncOptions(full=True)).run()
    Scene.objects.update(video_analyzed=True)
    target = Scene.objects.order_by("-id").first().pk
    Scene.objects.filter(pk=target).update(video_analyzed=False)
    # Tags named like the tagger's findings exist in Stash: apply finds them by exact name.
    for name in ("Sunset_AI", "AI_Tagged"):
        stash_emulator.control("tags", {"name": name})
    stash_emulator.advance_clock(60)

    env = {**proc_env, "STASH_URL": stash_emulator.url, "VIDEO_TAGGER_URL": tagger.url}
    processes.manage("runjobs", "--concurrency", "3", env=env)
    run_daemon(processes, env, "auto_video_analysis", job_interval_seconds=1, batch_size=5)
    run_daemon(processes, env, "auto_plan_applier", job_interval_seconds=1, auto_approve_all_changes=True)
    run_daemon(processes, env, "auto_stash_sync", job_interval_seconds=1)

    plan = wait_for(lambda: AnalysisPlan.objects.first(), 60, message="the analysis plan")
    assert plan.name.startswith("Auto Video Analysis")
    wait_for(lambda: AnalysisPlan.objects.get(pk=plan.pk).status == PlanStatus.APPLIED, 60, message="applied")

    # In Stash: the scene carries the new tags and exactly one new marker.
    remote = store.scenes[target]
    remote_tags = {store.tags[t].name for t in remote.tag_ids}
    assert {"Sunset_AI", "AI_Tagged"} <= remote_tags
    markers = [store.markers[m] for m in remote.marker_ids if store.markers[m].title == "Sunset_AI"]
    assert len(markers) == 1 and markers[0].seconds == 12

    # Back in the mirror, through the sync daemon.
    def mirrored():
        local_tags = set(Tag.objects.filter(scenes__id=target).values_list("name", flat=True))
        return {"Sunset_AI", "AI_Tagged"} <= local_tags and SceneMarker.objects.filter(
            scene_id=target, title="Sunset_AI"
        ).exists()

    wait_for(mirrored, 60, message="the mirror to carry the new tags and marker")
    assert Scene.objects.get(pk=target).video_analyzed is True
