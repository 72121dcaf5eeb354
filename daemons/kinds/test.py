"""The Test daemon: statuses, logs, and a test job it launches and watches. For demos and tests."""

import os
import resource

from daemons.base import BaseDaemon
from orchestrator.typed import Field, Schema


class SimulatedError(RuntimeError):
    pass


class TestDaemon(BaseDaemon):
    __test__ = False  # not a pytest test class despite its name
    kind = "test"
    title = "Test Daemon"
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
        )
    )

    async def run(self):
        iteration = 0
        await self.log("INFO", f"Test daemon started with config: {self.config}")
        while self.running:
            iteration += 1
            cfg = self.config
            await self.update_status(f"Iteration {iteration}: checking for work")
            if cfg["log_every"] and iteration % cfg["log_every"] == 0:
                rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                await self.log("INFO", f"Status check #{iteration}: peak memory {rss_mb:.0f} MB, pid {os.getpid()}")
            if cfg["simulate_errors"] and iteration % cfg["error_every"] == 0:
                raise SimulatedError(f"Simulated error at iteration {iteration}")
            if cfg["launch_jobs"] and self._job_due(iteration):
                await self._run_test_job(iteration)
            if not self.running:
                break
            await self.update_status(f"Sleeping for {cfg['interval_seconds']:g} seconds")
            await self.sleep(cfg["interval_seconds"])

    def _job_due(self, iteration: int) -> bool:
        every = self.config["job_every"]
        return iteration == 1 or (every > 0 and iteration % every == 0)

    async def _run_test_job(self, iteration: int):
        # After a restart, keep watching a job this daemon already launched instead of starting another.
        running = await self.active_jobs("test")
        if running:
            job = running[0]
        else:
            params = {"steps": self.config["job_steps"], "step_seconds": self.config["job_step_seconds"]}
            job = await self.launch_job("test", params, reason=f"Test job for iteration {iteration}")
        finished = await self.wait_for_job(job, f"Waiting for test job (iteration {iteration})")
        if finished is not None:
            await self.log("INFO", f"Test job {finished.pk} ended with status {finished.status}")
