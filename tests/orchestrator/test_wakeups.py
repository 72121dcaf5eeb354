"""Wake-ups in-process, over the real Redis: an announcement reaches async and sync listeners, a daemon's
wait ends on the news it waits for (also news heard between its check and its wait), and an unreachable
Redis leaves listeners to their polls without an error."""

import asyncio
import threading
import time
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels_redis.pubsub import RedisPubSubChannelLayer

from daemons.base import BaseDaemon
from jobs.models import Job
from orchestrator import wakeups
from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

# Far longer than any wake-up takes: a wait that ends well before it was ended by the wake-up.
LONG = 30.0


def test_an_announcement_reaches_an_async_listener():
    async def scenario():
        heard = asyncio.Queue()
        async with wakeups.listen((wakeups.PLANS,), lambda topic, key: heard.put_nowait((topic, key))):
            await announce(wakeups.SCENES)  # not listened to
            await announce(wakeups.PLANS, "7")
            return await asyncio.wait_for(heard.get(), LONG)

    assert async_to_sync(scenario)() == (wakeups.PLANS, "7")


def test_an_announcement_wakes_a_sync_waiter():
    woken = threading.Event()
    assert wakeups.listen_in_thread((wakeups.JOB_CREATED,), lambda topic, key: woken.set())
    began = time.monotonic()
    wakeups.announce(wakeups.JOB_CREATED, "x")
    assert woken.wait(LONG)
    assert time.monotonic() - began < LONG / 2


def test_an_unreachable_channel_layer_leaves_the_listener_to_its_polls():
    layer = RedisPubSubChannelLayer(
        hosts=[{"address": f"redis://127.0.0.1:{free_port()}", "socket_connect_timeout": 1}]
    )

    async def scenario():
        listener = wakeups.Listener(layer)
        subscribed = await listener.add((wakeups.PLANS,), lambda topic, key: None, timeout=0.5)
        listener.keeper.cancel()
        return subscribed

    assert async_to_sync(scenario)() is False


class Waiter(BaseDaemon):
    """Steps twice: the first watches a job and asks for a long wait; the second stops the loop."""

    kind = "waiter"

    def __init__(self, *args, job_id, early: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.job_id, self.early, self.steps = job_id, early, []

    async def log(self, level, message):
        pass

    async def step(self) -> float:
        self.steps.append(time.monotonic())
        if len(self.steps) > 1:
            self.request_stop()
            return 0.0
        if self.early:
            # The job ends after the step's check but before it says it watches the job: the wake-up is
            # heard while nothing waits for it, and must still end the wait that follows.
            await announce(wakeups.JOB_ENDED, self.job_id)
            await _until(lambda: self._news)
        self.watching = Job(pk=self.job_id)
        if not self.early:
            # Another job's end does not end the wait; the watched job's does.
            self.later = asyncio.ensure_future(announce_later(str(uuid.uuid4()), self.job_id))
        return LONG


async def announce_later(*job_ids):
    for job_id in job_ids:
        await asyncio.sleep(0.2)
        await announce(wakeups.JOB_ENDED, job_id)


async def announce(topic, key=""):
    # Announcements are made by database code, in sync threads (signal receivers, job handlers).
    await sync_to_async(wakeups.announce)(topic, key)


async def _until(predicate):
    deadline = time.monotonic() + LONG
    while not predicate():
        assert time.monotonic() < deadline, "the wake-up never arrived"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("early", [False, True], ids=["announced-during-the-wait", "announced-before-the-wait"])
def test_the_watched_jobs_end_ends_a_daemons_wait(early):
    job_id = str(uuid.uuid4())
    subject = Waiter(1, "waiter", {}, job_id=job_id, early=early)
    async_to_sync(asyncio.wait_for)(subject.run(), LONG)
    first, second = subject.steps
    assert second - first < LONG / 2
