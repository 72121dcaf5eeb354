"""Where a daemon's blocking work runs: Stash calls and ORM work off the host's event loop, each on a
connection not known to be dead (orchestrator.dbconn)."""

from asgiref.sync import sync_to_async

from orchestrator import dbconn
from orchestrator.threadpool import DaemonThreadPool

# The threads of in_thread(): daemon threads, so a Stash call in flight never holds up the host's exit.
_POOL = DaemonThreadPool(max_workers=8, name="daemon-io")


async def in_thread(function, *args):
    """Run blocking Stash/ORM work off the event loop (on a connection not known to be dead)."""
    return await sync_to_async(dbconn.run, thread_sensitive=False, executor=_POOL)(function, *args)


async def db_call(function, *args, **kwargs):
    """Run ORM work on the process's one thread-sensitive thread (on a connection not known to be dead)."""
    return await sync_to_async(dbconn.run)(function, *args, **kwargs)
