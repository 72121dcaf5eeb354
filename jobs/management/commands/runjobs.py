import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from jobs.runner import Worker
from orchestrator.dbcheck import require_database
from orchestrator.dbtag import tag_connection
from orchestrator.heap import freeze_startup_objects
from orchestrator.live.publisher import flush
from orchestrator.threadpool import exit_by_deadline, exit_without_stragglers

# Channel messages are never encrypted here, yet channels_redis imports cryptography's Fernet when
# present, which loads OpenSSL and Rust bindings: ~7 MB in every host and worker. Mark it missing.
sys.modules.setdefault("cryptography.fernet", None)


class Command(BaseCommand):
    # System checks would import the URLconf (every view, DRF included): ~25 MB per process for nothing.
    requires_system_checks = []
    help = "Run a job worker: claims pending jobs and runs up to --concurrency of them at once."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=2, help="Jobs run at once (default 2).")
        parser.add_argument(
            "--once",
            action="store_true",
            help="Claim the pending jobs that fit the free slots (one claim), run them to their end, exit.",
        )
        parser.add_argument(
            "--max-jobs", type=int, default=None, help="Exit once this many jobs have ended (claims no more)."
        )

    def handle(self, *args, concurrency, once, max_jobs, **options):
        if concurrency < 1 or concurrency > 64:
            raise CommandError("--concurrency must be between 1 and 64")
        if max_jobs is not None and max_jobs < 1:
            raise CommandError("--max-jobs must be at least 1")
        tag_connection("runjobs", relaxed_commits=True)
        require_database()
        worker = Worker(concurrency=concurrency, once=once, max_jobs=max_jobs)

        def stop(*_):
            worker.request_stop()
            exit_by_deadline()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        freeze_startup_objects()  # short garbage collections from here on (orchestrator/heap.py)
        worker.run()
        # Live pushes of the jobs it just ended still go out; then no thread still in a call (a Stash
        # request in a library's own pool) holds up the exit.
        flush(2.0)
        exit_without_stragglers(0)
