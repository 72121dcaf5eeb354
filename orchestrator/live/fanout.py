"""A web process's single subscriber to the live groups, writing each update to its local sockets.

The channel layer's per-socket path (a queue, a task and a deserialisation per socket) cost more than
the socket writes themselves when one update goes to dozens of sockets, so pushes reach the sockets
through one `Fanout` per web process (and event loop) instead of each socket's own channel.
"""

import asyncio
import logging
import weakref
from typing import Protocol

from orchestrator.live.groups import carrier

logger = logging.getLogger(__name__)


class Socket(Protocol):
    async def push(self, text: str): ...


class Fanout:
    """One channel of its own is in the carrier group (`groups.carrier()`) of every group some socket of
    this process watches; one task reads it and hands each update, serialised once by the publisher, to
    the sockets of the update's groups, in order, once per socket. A socket still has its own channel,
    used for the ping round trip; opening it needs Redis, so while Redis is down new sockets are refused.
    """

    _per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout]" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, layer) -> "Fanout":
        """The running event loop's fan-out (created on first use)."""
        loop = asyncio.get_running_loop()
        fanout = cls._per_loop.get(loop)
        if fanout is None:
            fanout = cls._per_loop[loop] = cls(layer)
        return fanout

    def __init__(self, layer):
        self.layer = layer
        self.members: dict[str, set[Socket]] = {}
        self.channel: str | None = None
        self.reader: asyncio.Task | None = None  # referenced here: the loop itself keeps only weak references
        self.lock = asyncio.Lock()  # joins and leaves change the layer's group membership one at a time

    def _carried(self, name: str) -> bool:
        return any(carrier(group) == name for group in self.members)

    async def join(self, group: str, socket: Socket):
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.reader = asyncio.ensure_future(self._deliver(self.channel))
            if group not in self.members:
                if not self._carried(carrier(group)):
                    await self.layer.group_add(carrier(group), self.channel)
                self.members[group] = set()
            self.members[group].add(socket)

    async def leave(self, groups: list[str], socket: Socket):
        async with self.lock:
            for group in groups:
                members = self.members.get(group)
                if members is None or socket not in members:
                    continue
                members.discard(socket)
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
                for socket in list(sockets):
                    try:
                        await socket.push(text)
                    except Exception:  # one broken socket must not starve the others
                        logger.exception("Live update not written to a socket")

    def _union(self, groups: list[str]) -> set:
        sockets = set()
        for group in groups:
            sockets |= self.members.get(group, set())
        return sockets
