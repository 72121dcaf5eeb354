"""`manage.py runhealth`: run the health checks periodically and deliver notifications (health/loop.py)."""

import signal

from django.core.management.base import BaseCommand

from health.loop import HealthLoop, run_round
from health.notifications.sender import deliver_due
from orchestrator import dbcheck
from orchestrator.dbtag import tag_connection


class Command(BaseCommand):
    help = "Run the health checks every HEALTH_CHECK_INTERVAL_SECONDS and deliver queued notifications."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every check once, deliver what is due, exit.")

    def handle(self, *args, once=False, **options):
        tag_connection("health")
        dbcheck.require_database()
        if once:
            names = run_round()
            deliver_due()
            self.stdout.write(f"ran {len(names)} checks")
            return
        loop = HealthLoop()
        signal.signal(signal.SIGTERM, loop.request_stop)
        signal.signal(signal.SIGINT, loop.request_stop)
        loop.run()
