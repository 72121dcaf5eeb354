"""`manage.py stashemulator`: the built-in fake Stash over HTTP (tests, benchmarks, demo mode).

Serves GraphQL at http://HOST:PORT/graphql with a seeded library and no database. SIGTERM or Ctrl-C
stops it (exit 0).
"""

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from stash.emulator import EmulatorServer, Store, seed_demo, seed_library
from stash.emulator.demo_media import prepare_demo_media
from stash.emulator.timefmt import DEFAULT_ZONE


class Command(BaseCommand):
    help = "Run the Stash emulator: a stand-alone fake Stash serving GraphQL at /graphql."
    requires_system_checks = []  # stand-alone: no models, no database

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=9999, help="Port to listen on (default 9999, as Stash).")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--scenes", type=int, default=0, help="Seed a generated library of N scenes.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed of the generated library (default 1).")
        parser.add_argument("--demo", action="store_true", help="Seed the small demo library (readable names).")
        parser.add_argument("--api-key", default="", help="Require this ApiKey header (or ?apikey=) on every request.")
        parser.add_argument("--scan-seconds", type=float, default=2.0, help="How long a scan job runs (default 2).")
        parser.add_argument(
            "--generate-seconds", type=float, default=4.0, help="How long a generate job runs (default 4)."
        )
        parser.add_argument(
            "--timezone", default=DEFAULT_ZONE, help=f"Stash's time zone for timestamps (default {DEFAULT_ZONE})."
        )
        parser.add_argument(
            "--media-dir",
            default="",
            help="With --demo: make short real videos here with ffmpeg (once) and give every demo file one, "
            "so video analysis and scans work on real files; the library is MEDIA_DIR/library.",
        )
        parser.add_argument(
            "--library", action="append", default=[], help="A library path metadataScan walks when given no paths."
        )

    def handle(self, *args, **options):
        if options["scan_seconds"] < 0 or options["generate_seconds"] < 0:
            raise CommandError("Durations must not be negative.")
        began = time.monotonic()
        try:
            store = Store(
                zone=options["timezone"],
                api_key=options["api_key"],
                library_paths=options["library"],
                scan_seconds=options["scan_seconds"],
                generate_seconds=options["generate_seconds"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["media_dir"] and not options["demo"]:
            raise CommandError("--media-dir goes with --demo.")
        if options["demo"]:
            seed_demo(store)
            if options["media_dir"]:
                try:
                    self.stdout.write(prepare_demo_media(store, options["media_dir"]))
                except (OSError, RuntimeError) as exc:
                    raise CommandError(f"Cannot prepare the demo media in {options['media_dir']}: {exc}") from exc
        if options["scenes"]:
            seed_library(store, scenes=options["scenes"], seed=options["seed"])
        try:
            server = EmulatorServer(store, options["host"], options["port"])
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        counts = store.state()
        self.stdout.write(
            f"Stash emulator at {server.url}/graphql: {counts['scenes']} scenes, {counts['tags']} tags, "
            f"{counts['performers']} performers, {counts['studios']} studios "
            f"(seeded in {time.monotonic() - began:.1f} s; time zone {store.zone_name})"
        )
        self.stdout.flush()
        self._serve(server)

    def _serve(self, server: EmulatorServer):
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        server.start()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            server.stop()
