"""A daemon's waits between steps, and the wake-ups that end them early (part of BaseDaemon).

After each step the loop sleeps for what the step asked; a stop, a new configuration, Run now, or a
wake-up the wait is for (orchestrator/wakeups.py: the end of the watched job, the news a rest waits for)
ends the sleep at once. Wake-ups heard while a step runs are kept for the next one (`_news`).
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from daemons.threads import in_thread
from orchestrator import wakeups

# Wake-ups remembered between two steps; past it their keys are forgotten (any watcher then re-checks).
MAX_NEWS = 1000


@dataclass(frozen=True)
class Rest:
    """A wait between cycles that news may end early (see `BaseDaemon.rest_until_news`)."""

    until: datetime
    topics: frozenset[str]
    ready: Callable[[], bool]
    poll: float | None
    config: dict


class Waits:
    """BaseDaemon's waits. Uses the loop state BaseDaemon sets up: `_wake` (the event a sleep ends on),
    `_news`, `_stopping`, `_held`, `_run_now`, `_loop`, `watching`, `resting`, `pause`, `config`."""

    def run_now(self):
        """Run now: end the current wait; a rest is over (a watched job is looked at at once)."""
        self._run_now = True
        self._wake.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds` after a step; wake early on stop, configuration change, or a wake-up this
        wait is for (`wanted()`), including one heard while the step ran. Returns `self.running`."""
        if self._stopping:
            return False
        # Re-check after arming: the step has now said what it waits for, and news of it may have come
        # while it checked (e.g. its job ended before watch()); then the next step runs at once.
        if any(self.wanted(topic, key) for topic, key in self._news):
            return self.running
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass
        return self.running

    def wake_from_thread(self):
        """End the wait after the current (or next) step from another thread, e.g. on a Stash job event:
        the next step then checks at once."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop is closed: the daemon has stopped
            pass

    def heard(self, topic: str, key: str):
        """A wake-up (called in the loop's thread): kept for the next step; ends the wait if it is for it."""
        if topic == wakeups.DAEMON_RUN_NOW:
            if key == self.name and self.pause is None:
                self.run_now()
            return
        if len(self._news) >= MAX_NEWS:
            self._news = {(t, "") for t, _ in self._news}
        self._news.add((topic, key))
        if self.wanted(topic, key):
            self._wake.set()

    def wanted(self, topic: str, key: str) -> bool:
        """Whether a wake-up concerns the current wait: the watched job's end (a forgotten key: any job's),
        or news the rest waits for. Nothing wakes a held step but its host (a pause, a configuration)."""
        if self._held:
            return False
        if self.watching is not None:
            return topic == wakeups.JOB_ENDED and key in ("", str(self.watching.pk))
        return self.resting is not None and topic in self.resting.topics

    def rest_until_news(
        self, seconds: float, *topics: str, ready: Callable[[], bool], poll: float | None = None
    ) -> float:
        """Rest `seconds` before the next cycle, unless one of `topics` is announced (or, every `poll`
        seconds, the fallback without wake-ups) and `ready()` then says there is work: the next step is
        then a full one at once. `ready` is a cheap, quiet question (run in a thread; no status, no log).
        A new configuration also ends the rest. Returns what the step returns."""
        until = timezone.now() + timedelta(seconds=seconds)
        self.resting = Rest(until, frozenset(topics), ready, poll, self.config)
        return seconds if poll is None else min(poll, seconds)

    async def _rest_left(self, news: set[tuple[str, str]]) -> float | None:
        """The seconds the rest goes on for, or None when it is over."""
        rest = self.resting
        left = (rest.until - timezone.now()).total_seconds()
        if self.config is rest.config and left > 0:
            asked = rest.poll is not None or any(topic in rest.topics for topic, _ in news)
            if not asked or not await in_thread(rest.ready):
                return left if rest.poll is None else min(rest.poll, left)
        self.resting = None
        return None
