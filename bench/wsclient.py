"""A benchmark WebSocket client process: N authenticated sockets on /ws/live/?subscribe=<groups> (WS_URL).

    wsclient.py WS_URL ORIGIN OUT --sockets N [--max-messages M]     (the session cookie in BENCH_COOKIE)

Each socket first reads the connect-time snapshot (up to {"type": "snapshot_done"}); when every socket has
done so, the process creates OUT.ready. From then on each message is stored with its receive wall time,
taken before anything else: parsing is left to the controller, so it never delays the next receive.
On SIGTERM, or once every socket holds M messages, it writes OUT (JSON: per socket, its error or null and
its [time, text] records) and exits.
"""

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path

from websockets.asyncio.client import connect


class Socket:
    def __init__(self):
        self.records: list[tuple[float, str]] = []
        self.error: str | None = None

    async def run(self, args, cookie: str, ready):
        try:
            async with connect(
                args.url, origin=args.origin, additional_headers={"Cookie": cookie}, max_size=None, open_timeout=60
            ) as ws:
                while json.loads(await ws.recv()).get("type") != "snapshot_done":
                    pass
                ready()
                records = self.records
                while True:
                    text = await ws.recv()
                    records.append((time.time(), text))
                    if args.max_messages and len(records) >= args.max_messages:
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported to the controller, which counts the socket's missed messages
            self.error = f"{type(exc).__name__}: {exc}"
            ready()


async def main(args) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sockets = [Socket() for _ in range(args.sockets)]
    waiting = [args.sockets]

    def ready():
        waiting[0] -= 1
        if waiting[0] == 0:
            Path(args.out + ".ready").touch()

    cookie = os.environ["BENCH_COOKIE"]
    tasks = [asyncio.create_task(s.run(args, cookie, ready)) for s in sockets]
    everything = asyncio.gather(*tasks, return_exceptions=True)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([everything, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    payload = [{"error": s.error, "records": s.records} for s in sockets]
    Path(args.out).write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("origin")
    parser.add_argument("out")
    parser.add_argument("--sockets", type=int, default=1)
    parser.add_argument("--max-messages", type=int, default=0)
    raise SystemExit(asyncio.run(main(parser.parse_args())))
