import asyncio
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from daemons.host import DaemonHost, HostedElsewhere
from daemons.models import Daemon
from daemons.registry import get_kind
from daemons.services import unknown_daemon_message
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
    help = "Host one daemon: runs its loop while its desired state is running (see DESIGN §2)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Daemon name, e.g. auto_stash_sync")
        parser.add_argument(
            "--once",
            action="store_true",
            help=(
                "Run one step of the daemon in this process, whatever its desired state, and exit 0. The step "
                "writes its statuses, logs and jobs as usual (it launches jobs, never waits for them). The "
                "lease is held for the step only; refused while another host is active for the daemon."
            ),
        )

    def handle(self, *args, name, once, **options):
        # A fenced write left open past the lease by a frozen host must not block the takeover.
        tag_connection(
            f"rundaemon:{name}", relaxed_commits=True, idle_in_transaction_seconds=settings.DAEMON_LEASE_SECONDS
        )
        require_database()
        daemon = Daemon.objects.filter(name=name).first()
        if daemon is None or get_kind(daemon.kind) is None:
            raise CommandError(unknown_daemon_message(name))
        if once:
            self.step_once(name)
            return
        host = DaemonHost(name)
        host.on_stop_signal = exit_by_deadline
        freeze_startup_objects()  # short garbage collections from here on (orchestrator/heap.py)
        code = asyncio.run(host.serve())
        flush(2.0)
        exit_without_stragglers(code)
        if code:
            raise CommandError(f"Daemon host exited with code {code}", returncode=code)

    def step_once(self, name: str):
        try:
            seconds = asyncio.run(DaemonHost(name).step_once())
        except HostedElsewhere as refused:
            raise CommandError(str(refused)) from None
        finally:
            flush(2.0)
        status = Daemon.objects.get(name=name).current_status
        self.stdout.write(f"{name}: one step run; status: {status!r}; it asked for the next step in {seconds:g} s")
