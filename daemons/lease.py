"""A daemon host's lease, as its daemon's loop sees it (the host takes and renews it: daemons/host.py).

Two guards keep a host that lost its lease (paused past it, cut off from the database) from acting:
- fencing: every status write, job launch, job-history row and log line of the daemon's loop carries
  the lease token in the same statement or transaction (daemons/services.py), so without the lease it
  changes nothing and raises LeaseLost;
- freshness: the loop takes no step while the last renewal the host saw is older than
  DAEMON_LEASE_SECONDS (a standby may hold the lease by then); the host's next control step either
  renews it or stops the loop.
"""

import time
from dataclasses import dataclass

from django.conf import settings


@dataclass
class Lease:
    token: str
    # time.monotonic() just before the last renewal that succeeded (before: the row's heartbeat is no older).
    renewed_at: float = float("-inf")

    def fresh(self) -> bool:
        return time.monotonic() - self.renewed_at < settings.DAEMON_LEASE_SECONDS
