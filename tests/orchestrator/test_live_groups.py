"""The live-group registry: apps register their groups; sockets may subscribe to those only."""

import pytest

from orchestrator.live import groups
from orchestrator.live.groups import LiveGroup


def test_registered_lists_and_their_pages_are_subscribable():
    assert groups.subscribable("daemons") and groups.subscribable("daemon.auto_stash_sync")
    assert groups.subscribable("jobs") and groups.subscribable("job.0f4ad9b6-4c3e-4a8e-9b8f-6d1e2c3a4b5c")
    assert groups.subscribable("plans") and groups.subscribable("plan.42")
    assert groups.subscribable("downloads")


@pytest.mark.parametrize("name", ["", "daemon", "job.1", "plan.x", "plan.1.2", "other", "plans,jobs", "daemon.A"])
def test_anything_else_is_refused(name):
    assert not groups.subscribable(name)


def test_a_page_group_travels_in_its_list_group():
    assert groups.carrier("plan.42") == "plans"
    assert groups.carrier("job.x") == "jobs"
    assert groups.carrier("plans") == "plans"
    assert groups.page_key("plan.42") == "42"


def test_registering_again_is_harmless_and_a_clash_is_an_error():
    again = LiveGroup("plans", page="plan", key=r"[0-9]{1,18}")
    assert groups.register(again) == again
    with pytest.raises(ValueError):
        groups.register(LiveGroup("plans", page="proposal", key=r"[0-9]+"))
    with pytest.raises(ValueError):
        groups.register(LiveGroup("other", page="plan", key=r"[0-9]+"))
