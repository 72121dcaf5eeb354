"""The Test daemon: statuses, logs, and a test job it launches and watches. For demos and tests."""

import os
import resource

from daemons.base import POLL_SECONDS, BaseDaemon
from daemons.models import StatusLevel
from daemons.quiet_hours import QUIET_HOURS
from orchestrator.typed import Field, Schema


class SimulatedError(RuntimeError):
    pass


class TestDaemon(BaseDaemon):
    __test__ = False  # not a pytest test class despite its name
    kind = "test"
    title = "Test Daemon"
    log_title = "Test daemon"
    interval_key = "interval_seconds"
    description = "Reports statuses, writes logs and launches a test job; for demos and tests."
    config_schema = Schema(
        (
            Field("interval_seconds", float, 5.0, "Pause between iterations.", min=0.001, max=3600),
            Field("launch_jobs", bool, True, "Launch a test job and watch it until it ends."),
            Field("job_every", int, 10, "Launch a job every N iterations (0: only on the first).", min=0, max=100_000),
            Field("job_steps", int, 5, "Steps of each launched test job.", min=1, max=1000),
            Field("job_step_seconds", float, 1.0, "Seconds per test-job step.", min=0, max=600),
            Field("log_every", int, 5, "Write an INFO log line every N iterations (0: never).", min=0, max=100_000),
            Field("simulate_errors", bool, False, "Raise an error every `error_every` iterations."),
            Field("error_every", int, 20, "Iterations between simulated errors.", min=1, max=100_000),
            QUIET_HOURS,
        )
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.iteration = 0

    async def step(self) -> float:
        if self.watching is not None:
            finished = await self.watched_end()
            if finished is None:
                return POLL_SECONDS
            await self.log("INFO", f"Test job {finished.pk} ended with status {finished.status}")
            return await self.rest()
        self.iteration += 1
        cfg = self.config
        await self.update_status(f"Iteration {self.iteration}: checking for work")
        if cfg["log_every"] and self.iteration % cfg["log_every"] == 0:
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            await self.log("INFO", f"Status check #{self.iteration}: peak memory {rss_mb:.0f} MB, pid {os.getpid()}")
        if cfg["simulate_errors"] and self.iteration % cfg["error_every"] == 0:
            raise SimulatedError(f"Simulated error at iteration {self.iteration}")
        if cfg["launch_jobs"] and self._job_due():
            await self.watch_test_job()
            return POLL_SECONDS
        return await self.rest()

    async def rest(self) -> float:
        seconds = self.config["interval_seconds"]
        await self.update_status(f"Sleeping for {seconds:g} seconds", level=StatusLevel.WAITING, next_in=seconds)
        return seconds

    def _job_due(self) -> bool:
        every = self.config["job_every"]
        return self.iteration == 1 or (every > 0 and self.iteration % every == 0)

    async def watch_test_job(self):
        # After a restart, keep watching a job this daemon already launched instead of starting another.
        running = await self.active_jobs("test")
        if running:
            job = running[0]
        else:
            params = {"steps": self.config["job_steps"], "step_seconds": self.config["job_step_seconds"]}
            job = await self.launch_job("test", params, reason=f"Test job for iteration {self.iteration}")
        await self.watch(job, f"Waiting for test job (iteration {self.iteration})")
