"""Wake-ups across processes: "something a waiting loop may care about just changed".

`announce(topic, key)` is called where the data changes (a job is created or ends, plans or scenes are
written). After the transaction commits it queues a tiny message on the live publisher's thread
(orchestrator/live/publisher.py) for the channel-layer group `wakeup.<topic>`: the caller pays a queue
append, never blocks and never sees a Redis error.

Waiting loops listen: `listen(topics, callback)` in async code (daemon hosts), `listen_in_thread(topics,
callback)` in sync code (the job worker; the same listener runs on the publisher's event loop). Each event
loop has one `Listener`: one channel in the topics' groups, one task reading it and calling
`callback(topic, key)` in that loop's thread.

Delivery is at most once and stops while Redis is down, so a wake-up only ends a wait early: every loop
keeps its poll as the fallback, and a woken loop re-checks the database (a spurious wake-up costs a
query). Against the race between a loop's check and its wait, a loop listens *before* it checks and
looks, after arming its wait, at what was announced since the check (see BaseDaemon.sleep, Worker.run).
"""

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterable

from channels.layers import get_channel_layer
from django.db import transaction

from orchestrator.backoff import Backoff
from orchestrator.live import publisher

logger = logging.getLogger(__name__)

# The topics (one channel-layer group each) and who announces them.
JOB_CREATED = "jobs.created"  # a pending job was committed (jobs/wakeups.py): idle workers claim it
JOB_ENDED = "jobs.ended"  # a job ended, its id as key (jobs/wakeups.py): its watchers; maybe the system is idle
PLANS = "plans"  # plans or their changes changed (stash/plans/review.py): the plan applier
SCENES = "scenes"  # a sync wrote scenes (stash/sync/pages.py): generation, video analysis
DAEMON_RUN_NOW = "daemons.run_now"  # "Run now", the daemon's name as key (daemons/schedule.py): its loop
NOTIFY = "notify"  # the notification outbox has new messages (health/notifications/outbox.py): the sender
HEALTH = "health"  # a person asked for a check now (health/views.py, api.py): the health loop

GROUP_PREFIX = "wakeup."
# How long a listener waits for its subscription before its loop goes on (Redis down: polls only).
SUBSCRIBE_TIMEOUT = 2.0
# While Redis refuses the subscription: retries after 1 s, 2 s, 4 s … up to this.
RETRY_CEILING_SECONDS = 30.0

Callback = Callable[[str, str], None]


def group(topic: str) -> str:
    return GROUP_PREFIX + topic


def announce(topic: str, key: str = ""):
    """Wake the listeners of `topic` once the current transaction commits (at once in autocommit).
    Never raises, never blocks: a lost wake-up only leaves a waiter to its poll."""
    try:
        transaction.on_commit(lambda: publisher.publish(group(topic), {"topic": topic, "key": key}))
    except Exception:  # e.g. no usable database connection: the waiters' polls still find the change
        logger.exception("Wake-up %s not announced", topic)


class Listener:
    """One event loop's subscription to the wake-up groups some callback of it needs.

    Groups are joined as callbacks ask for them and kept until the process ends (a host listens for
    its daemon's whole life). A keeper task joins them, and joins them again with backoff after Redis
    refused; redis-py re-subscribes a live subscription by itself after a reconnect.
    """

    _per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Listener]" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls) -> "Listener":
        """The running event loop's listener (created on first use)."""
        loop = asyncio.get_running_loop()
        listener = cls._per_loop.get(loop)
        if listener is None:
            listener = cls._per_loop[loop] = cls(get_channel_layer())
        return listener

    def __init__(self, layer):
        self.layer = layer
        self.callbacks: dict[str, list[Callback]] = {}
        self.joined: set[str] = set()
        self.channel: str | None = None
        # Referenced here: the loop itself keeps only weak references to tasks.
        self.reader: asyncio.Task | None = None
        self.keeper: asyncio.Task | None = None
        self.wanted = asyncio.Event()  # callbacks asked for topics not joined yet
        self.progress = asyncio.Condition()  # notified whenever the keeper has joined what it could

    async def add(self, topics: Iterable[str], callback: Callback, timeout: float = SUBSCRIBE_TIMEOUT) -> bool:
        """Call `callback(topic, key)` for each announcement of `topics` from now on. Returns once the
        groups are joined (True), or after `timeout` (False: the keeper goes on trying meanwhile)."""
        topics = set(topics)
        for topic in topics:
            self.callbacks.setdefault(topic, []).append(callback)
        if self.keeper is None:
            self.keeper = asyncio.ensure_future(self._keep_joined())
        self.wanted.set()
        try:
            async with asyncio.timeout(timeout), self.progress:
                await self.progress.wait_for(lambda: topics <= self.joined)
            return True
        except TimeoutError:
            return False

    def remove(self, topics: Iterable[str], callback: Callback):
        for topic in topics:
            callbacks = self.callbacks.get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)

    async def _keep_joined(self):
        failures = Backoff(first=1.0)
        while True:
            self.wanted.clear()  # before looking: a topic asked for meanwhile sets it again
            try:
                if self.channel is None:
                    self.channel = await self.layer.new_channel("wakeups.")
                    self.reader = asyncio.ensure_future(self._deliver(self.channel))
                for topic in [t for t in self.callbacks if t not in self.joined]:
                    await self.layer.group_add(group(topic), self.channel)
                    self.joined.add(topic)
            except Exception as exc:  # Redis down: the waiters poll; join again later
                if not failures.failures:
                    logger.warning("Wake-ups unavailable (channel layer unreachable), loops poll: %s", exc)
                await asyncio.sleep(failures.next_delay(RETRY_CEILING_SECONDS))
                continue
            if failures.reset():
                logger.info("Wake-ups available again")
            async with self.progress:
                self.progress.notify_all()
            await self.wanted.wait()

    async def _deliver(self, channel: str):
        while True:
            try:
                message = await self.layer.receive(channel)
                updates = message.get("updates", ())
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed message must not end the wake-ups
                logger.exception("Wake-up not readable")
                continue
            for _groups, text in updates:
                try:
                    announced = json.loads(text)
                    topic, key = announced["topic"], announced["key"]
                except (ValueError, KeyError, TypeError):
                    logger.warning("Wake-up not understood: %.200s", text)
                    continue
                for callback in list(self.callbacks.get(topic, ())):
                    try:
                        callback(topic, key)
                    except Exception:  # one broken waiter must not starve the others
                        logger.exception("Wake-up callback failed")


class listen:
    """`async with listen(topics, callback):` — announcements of `topics` call `callback(topic, key)` in
    this event loop while the block runs. Entering returns once subscribed (or after SUBSCRIBE_TIMEOUT)."""

    def __init__(self, topics: Iterable[str], callback: Callback):
        self.topics = tuple(topics)
        self.callback = callback

    async def __aenter__(self):
        self.listener = Listener.of()
        await self.listener.add(self.topics, self.callback)
        return self

    async def __aexit__(self, *exc):
        self.listener.remove(self.topics, self.callback)
        return False


def listen_in_thread(topics: Iterable[str], callback: Callback) -> bool:
    """For sync code: announcements of `topics` call `callback(topic, key)` from now on, on the publisher's
    thread (so the callback must be thread-safe, e.g. `threading.Event.set`). Blocks until subscribed or
    SUBSCRIBE_TIMEOUT has passed; returns whether it is subscribed."""
    topics = tuple(topics)

    async def add() -> bool:
        return await Listener.of().add(topics, callback)

    try:
        return publisher.call_soon(add()).result(timeout=SUBSCRIBE_TIMEOUT + 1.0)
    except Exception:
        logger.exception("Wake-ups not subscribed; polling only")
        return False
