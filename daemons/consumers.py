"""The one WebSocket endpoint (/ws/live/?subscribe=…): live state for every page.

A page names the groups it wants (daemons, daemon.<name>, jobs, job.<uuid>). On connect it gets the
current state of each before any update, so a reconnect heals whatever was missed. Anonymous sockets are
refused; the origin is checked by AllowedHostsOriginValidator in orchestrator/asgi.py. A client's
{"type": "ping"} is answered with {"type": "pong"} only if the channel layer works (see receive()).
"""

import asyncio
import json
import re
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from daemons.models import Daemon
from daemons.services import daemon_payload
from jobs.models import ACTIVE_STATUSES, Job

GROUP_PATTERN = re.compile(r"^(daemons|jobs|daemon\.[-a-z0-9_]{1,80}|job\.[0-9a-f-]{36})$")
MAX_GROUPS = 10
PONG = json.dumps({"type": "pong"})


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        wanted = [g for part in query.get("subscribe", []) for g in part.split(",")]
        self.live_groups = [g for g in dict.fromkeys(wanted) if GROUP_PATTERN.match(g)][:MAX_GROUPS]
        for group in self.live_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        for payload in await snapshot(self.live_groups):
            await self.send(text_data=json.dumps(payload))

    async def disconnect(self, code):
        for group in getattr(self, "live_groups", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # Redis gone: the group entry expires by itself
                pass

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self.close(code=4400)
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            # The pong makes a round trip through the channel layer, so it proves that pushes can still
            # reach this socket; with Redis down the socket is closed and the page says updates are down.
            try:
                await asyncio.wait_for(self.channel_layer.send(self.channel_name, {"type": "live.pong"}), 3)
            except Exception:
                await self.close(code=4503)
        # Anything else is ignored: the socket only pushes state.

    async def dispatch(self, message):
        # Channels closes stale DB connections (a hop to the DB thread) before every handler. Pushes
        # never touch the database, and at 50 sockets × 100 pushes/s that hop was the bottleneck.
        if message["type"] == "live.message":
            await self.send(text_data=message["text"])
        else:
            await super().dispatch(message)

    async def live_pong(self, event):
        await self.send(text_data=PONG)


@database_sync_to_async
def snapshot(groups: list[str]) -> list[dict]:
    """The current state of everything the groups cover, as the same payloads live updates use."""
    from jobs.services import job_payload

    payloads = [{"type": "hello", "groups": groups}]
    for group in groups:
        if group == "daemons":
            payloads += [daemon_payload(d) for d in Daemon.objects.all()]
        elif group.startswith("daemon."):
            daemon = Daemon.objects.filter(name=group.split(".", 1)[1]).first()
            if daemon:
                payloads.append(daemon_payload(daemon))
        elif group == "jobs":
            payloads += [job_payload(j) for j in Job.objects.filter(status__in=ACTIVE_STATUSES)[:200]]
        elif group.startswith("job."):
            job = Job.objects.filter(pk=group.split(".", 1)[1]).first()
            if job:
                payloads.append(job_payload(job))
    payloads.append({"type": "snapshot_done"})
    return payloads
