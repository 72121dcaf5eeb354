"""The one WebSocket endpoint (/ws/live/?subscribe=…): live state for every page.

A page names the groups it wants (daemons, daemon.<name>, jobs, job.<uuid>). On connect it gets the
current state of each before any update, so a reconnect heals whatever was missed. Anonymous sockets are
refused; the origin is checked by AllowedHostsOriginValidator in orchestrator/asgi.py. A client's
{"type": "ping"} is answered with {"type": "pong"} only if the channel layer works (see receive()).

Pushes reach the sockets through one `_Fanout` per web process (see there), not through each socket's own
channel: the channel layer's per-socket path (a queue, a task and a deserialisation per socket) cost more
than the socket writes themselves when one update goes to dozens of sockets.
"""

import asyncio
import json
import logging
import re
import weakref
from functools import cached_property
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import InstanceSessionWrapper

from daemons.models import Daemon
from daemons.services import daemon_payload
from jobs.models import ACTIVE_STATUSES, Job
from orchestrator.live import carrier

logger = logging.getLogger(__name__)

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
        # Pushes that arrive before the snapshot is out wait here, so the page always gets the snapshot first.
        self.held: list[str] | None = []
        fanout = _Fanout.of(self.channel_layer)
        try:
            for group in self.live_groups:
                await fanout.join(group, self)
            await self.accept()
            for payload in await snapshot(self.live_groups):
                await self.send(text_data=json.dumps(payload))
            while self.held:
                await self.send(text_data=self.held.pop(0))
            self.held = None  # no await since the loop's last check: nothing can slip in between
        except BaseException:
            await fanout.leave(self.live_groups, self)
            raise

    async def disconnect(self, code):
        await _Fanout.of(self.channel_layer).leave(getattr(self, "live_groups", []), self)

    async def push(self, text: str):
        """Called by the fan-out for every update of a group this socket is in."""
        if self.held is not None:
            self.held.append(text)
        else:
            await self._push_send({"type": "websocket.send", "text": text})

    @cached_property
    def _push_send(self):
        # Channels' session wrapper saves a modified session on "http.response.start" only, yet reads the
        # session on every message it passes on: a fifth of the web process's work for a push. Pushes
        # skip it (this socket never changes its session); anything else the consumer sends goes through.
        wrapper = getattr(self.base_send, "__self__", None)
        return wrapper.real_send if isinstance(wrapper, InstanceSessionWrapper) else self.base_send

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

    async def live_pong(self, event):
        await self.send(text_data=PONG)


class _Fanout:
    """A web process's single subscriber to the live groups, writing each update to the local sockets.

    One channel of its own is in the carrier group (orchestrator/live.py: `carrier()`) of every group some
    socket of this process (and event loop) watches; one task reads it and hands each update, serialised
    once by the publisher, to the sockets of the update's groups, in order, once per socket. A socket
    still has its own channel, used for the ping round trip; opening it needs Redis, so while Redis is
    down new sockets are refused as before.
    """

    _per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Fanout]" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, layer) -> "_Fanout":
        loop = asyncio.get_running_loop()
        fanout = cls._per_loop.get(loop)
        if fanout is None:
            fanout = cls._per_loop[loop] = cls(layer)
        return fanout

    def __init__(self, layer):
        self.layer = layer
        self.members: dict[str, set[LiveConsumer]] = {}
        self.channel: str | None = None
        self.reader: asyncio.Task | None = None  # referenced here: the loop itself keeps only weak references
        self.lock = asyncio.Lock()  # joins and leaves change the layer's group membership one at a time

    def _carried(self, name: str) -> bool:
        return any(carrier(group) == name for group in self.members)

    async def join(self, group: str, consumer: LiveConsumer):
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.reader = asyncio.ensure_future(self._deliver(self.channel))
            if group not in self.members:
                if not self._carried(carrier(group)):
                    await self.layer.group_add(carrier(group), self.channel)
                self.members[group] = set()
            self.members[group].add(consumer)

    async def leave(self, groups: list[str], consumer: LiveConsumer):
        async with self.lock:
            for group in groups:
                members = self.members.get(group)
                if members is None or consumer not in members:
                    continue
                members.discard(consumer)
                if members:
                    continue
                del self.members[group]
                if not self._carried(carrier(group)):
                    try:
                        await self.layer.group_discard(carrier(group), self.channel)
                    except Exception:  # Redis gone: the subscription ends with the connection
                        pass

    async def _deliver(self, channel: str):
        while True:
            try:
                message = await self.layer.receive(channel)
                updates = message.get("updates", ())
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed message must not end every socket's updates
                logger.exception("Live update not readable")
                continue
            for groups, text in updates:
                sockets = self.members.get(groups[0], ()) if len(groups) == 1 else self._union(groups)
                for consumer in list(sockets):
                    try:
                        await consumer.push(text)
                    except Exception:  # one broken socket must not starve the others
                        logger.exception("Live update not written to a socket")

    def _union(self, groups: list[str]) -> set:
        sockets = set()
        for group in groups:
            sockets |= self.members.get(group, set())
        return sockets


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
