"""The one WebSocket endpoint (/ws/live/?subscribe=…): live state for every page.

A page names the groups it wants (what the apps registered, `groups.subscribable()`: daemons, jobs,
plans, downloads and their pages' groups). On connect it gets the current state of each (`snapshots`)
before any update, so a reconnect heals whatever was missed. Anonymous sockets are refused; the origin
is checked by orchestrator/ws_origin.py (scheme, host and port). A socket lives only as long as its
login: every LIVE_SESSION_CHECK_SECONDS, and before acting on any client message, it re-reads its session
(session.py) and closes with 4401 once the session is gone (logout), the account deactivated or its
password changed. A client's {"type": "ping"} is
answered with {"type": "pong"} only if the channel layer works (see receive()).

Pushes reach the sockets through the web process's `Fanout` (fanout.py), not through each socket's own
channel.
"""

import asyncio
import json
from functools import cached_property
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings

from orchestrator.live import snapshots
from orchestrator.live.fanout import Fanout
from orchestrator.live.groups import subscribable
from orchestrator.live.session import still_signed_in

MAX_GROUPS = 10
PONG = json.dumps({"type": "pong"})
# The providers read the database: in a worker thread, off the event loop.
snapshot = database_sync_to_async(snapshots.payloads)
signed_in = database_sync_to_async(still_signed_in)
# The periodic checks of one login's sockets (its tabs; the benchmarks' 50 sockets) share one answer for
# this long, so they cost one query pair per login and interval, not per socket. A client message always
# asks afresh.
SHARED_CHECK_SECONDS = 1.0
_recent_checks: dict[tuple, tuple[float, asyncio.Future]] = {}


async def shared_signed_in(session_key, user_pk) -> bool:
    loop = asyncio.get_running_loop()
    key = (id(loop), session_key, user_pk)
    now = loop.time()
    recent = _recent_checks.get(key)
    if recent is None or now - recent[0] > SHARED_CHECK_SECONDS:
        for stale in [k for k, (at, _) in _recent_checks.items() if now - at > SHARED_CHECK_SECONDS]:
            del _recent_checks[stale]
        recent = _recent_checks[key] = (now, asyncio.ensure_future(signed_in(session_key, user_pk)))
    return await asyncio.shield(recent[1])  # one socket closing must not cancel the others' answer


SIGNED_OUT = 4401


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=SIGNED_OUT)
            return
        self.session_key = self.scope["session"].session_key
        self.user_pk = user.pk
        query = parse_qs(self.scope.get("query_string", b"").decode())
        wanted = [g for part in query.get("subscribe", []) for g in part.split(",")]
        self.live_groups = [g for g in dict.fromkeys(wanted) if subscribable(g)][:MAX_GROUPS]
        # Pushes that arrive before the snapshot is out wait here, so the page always gets the snapshot first.
        self.held: list[str] | None = []
        fanout = Fanout.of(self.channel_layer)
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
        self.session_watch = asyncio.create_task(self._watch_session())

    async def disconnect(self, code):
        watch = getattr(self, "session_watch", None)
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
        await Fanout.of(self.channel_layer).leave(getattr(self, "live_groups", []), self)

    async def _signed_out(self, shared=False) -> bool:
        """Closes the socket (4401) if its login has ended; says whether it did."""
        check = shared_signed_in if shared else signed_in
        if await check(self.session_key, self.user_pk):
            return False
        await self.close(code=SIGNED_OUT)
        return True

    async def _watch_session(self):
        # Pushes need no client message, so without this a logged-out page would keep receiving them.
        while True:
            await asyncio.sleep(settings.LIVE_SESSION_CHECK_SECONDS)
            try:
                if await self._signed_out(shared=True):
                    return
            except Exception:  # the database is briefly unreachable: keep the socket, check again later
                continue

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
        if await self._signed_out():
            return
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
