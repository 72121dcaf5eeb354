"""What the Stash daemons share: asking Stash from a daemon loop, and backing off while it is down."""

from asgiref.sync import sync_to_async
from django.conf import settings

from stash.connection.errors import StashError


class StashOutage:
    """Counts consecutive Stash failures of one daemon to space its retries."""

    def __init__(self):
        self.failures = 0

    def next_delay(self, ceiling: float) -> float:
        """While Stash does not answer: 10 s, 20 s, 40 s … never longer than the daemon's own interval."""
        self.failures += 1
        return min(float(ceiling), settings.STASH_RETRY_FIRST_SECONDS * 2 ** (self.failures - 1))

    def recovered(self) -> bool:
        """Reset; True when Stash had been failing (worth a log line)."""
        was_down, self.failures = self.failures > 0, 0
        return was_down


async def in_thread(function, *args):
    """Run blocking Stash/ORM work off the event loop."""
    return await sync_to_async(function, thread_sensitive=False)(*args)


async def report_stash_error(daemon, outage: StashOutage, error: StashError, ceiling: float):
    """Log and show a Stash failure, then sleep before the next attempt (never past a stop request)."""
    delay = outage.next_delay(ceiling)
    await daemon.log("ERROR", f"Stash error: {error}; retrying in {delay:.0f} s")
    await daemon.update_status(f"Stash is unreachable or failing, retrying in {delay:.0f} seconds: {error}")
    await daemon.sleep(delay)


async def stash_answered(daemon):
    """Call after a Stash call succeeded: says so once when Stash had been failing."""
    if daemon.outage.recovered():
        await daemon.log("INFO", "Stash answers again")
