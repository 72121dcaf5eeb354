"""Shared by the job types that drive a task in Stash's queue (scan, generate): record Stash's job id and
what identifies that job, report its progress, stop it on cancel, and turn its end into our job's
outcome (a job that Stash lost, or whose id Stash gave to another job after a restart, fails)."""

from django.conf import settings

from jobs.context import JobCancelled


def follow(ctx, client, stash_job_id: str, label: str) -> dict:
    """Follow the Stash job just queued under `stash_job_id` to its end. Returns result fields on
    FINISHED; raises otherwise."""
    from stash.connection.follow import Follow, StashJobStopped, follow_stash_job, identify

    identity = identify(client, stash_job_id)
    ctx.set_external_id(stash_job_id, identity)
    ctx.progress(1, f"{label}: Stash job {stash_job_id} started")
    try:
        job = follow_stash_job(
            client,
            stash_job_id,
            identity=identity,
            label=label,
            on_progress=ctx.progress,
            should_stop=lambda: ctx.cancel_requested,
            settings=Follow(
                poll_seconds=settings.STASH_JOB_POLL_SECONDS,
                unreachable_seconds=settings.STASH_UNREACHABLE_GIVE_UP_SECONDS,
                stop_timeout_seconds=settings.STASH_JOB_STOP_TIMEOUT_SECONDS,
            ),
        )
    except StashJobStopped as stopped:
        reason = ctx.cancel_reason if stopped.by_us else "Stopped in Stash by someone else"
        raise JobCancelled(f"{reason}; Stash job {stash_job_id} was stopped") from None
    return {"stash_job_id": stash_job_id, "start_time": job.get("startTime"), "end_time": job.get("endTime")}
