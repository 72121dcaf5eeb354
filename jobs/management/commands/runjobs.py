import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from jobs.runner import Worker
from orchestrator.dbtag import tag_connection

# Channel messages are never encrypted here, yet channels_redis imports cryptography's Fernet when
# present, which loads OpenSSL and Rust bindings: ~7 MB in every host and worker. Mark it missing.
sys.modules.setdefault("cryptography.fernet", None)


class Command(BaseCommand):
    # System checks would import the URLconf (every view, DRF included): ~25 MB per process for nothing.
    requires_system_checks = []
    help = "Run a job worker: claims pending jobs and runs up to --concurrency of them at once."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=2, help="Jobs run at once (default 2).")

    def handle(self, *args, concurrency, **options):
        if concurrency < 1 or concurrency > 64:
            raise CommandError("--concurrency must be between 1 and 64")
        tag_connection("runjobs", relaxed_commits=True)
        worker = Worker(concurrency=concurrency)
        signal.signal(signal.SIGTERM, worker.request_stop)
        signal.signal(signal.SIGINT, worker.request_stop)
        worker.run()
