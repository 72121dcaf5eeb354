"""Spacing out retries: the one formula every retry loop here uses, and a counter for a loop's failures."""

# Past this many doublings every delay is at its ceiling anyway; the cap keeps the power from overflowing.
MAX_EXPONENT = 30


def delay(failures: int, first: float, ceiling: float, factor: float = 2.0) -> float:
    """The wait after `failures` consecutive failures (counting from 1): `first`, then multiplied by
    `factor` per further failure, never more than `ceiling`."""
    return min(ceiling, first * factor ** min(max(failures, 1) - 1, MAX_EXPONENT))


class Backoff:
    """Consecutive failures of one loop, and how long to wait before its next attempt."""

    def __init__(self, first: float, factor: float = 2.0):
        self.first = first
        self.factor = factor
        self.failures = 0

    def next_delay(self, ceiling: float) -> float:
        """Count one more failure and return the wait it calls for (never more than `ceiling`)."""
        self.failures += 1
        return delay(self.failures, self.first, float(ceiling), self.factor)

    def reset(self) -> bool:
        """Start over after a success; True when there had been failures (worth a log line)."""
        had_failed, self.failures = self.failures > 0, 0
        return had_failed
