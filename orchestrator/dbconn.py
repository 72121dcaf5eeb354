"""Surviving a lost database connection in long-lived processes (daemon hosts, job workers).

Django keeps one connection per thread and, outside a request, never looks at it again: once PostgreSQL
ends the backend (a restart, a failover, `pg_terminate_backend`) every later query on that thread fails
with the same dead connection, forever. Web requests are fine (Django checks the connection at each
request's start and end); our processes run their queries on a few long-lived threads instead, so
they go through `run()`:

- a query that fails with a connection error (OperationalError / InterfaceError) marks the loss for
  the whole process, since the other threads' connections were almost certainly ended too;
- before its next query, every thread that has not yet seen that mark closes its connection (no round
  trip), so the query opens a fresh one.

The failing call still raises: whether its statement took effect is unknown, so the caller decides
(a daemon step is abandoned and retried, a job fails with the reason, a compare-and-set write is
simply written again).
"""

import threading

from django.db import InterfaceError, OperationalError, connection

CONNECTION_ERRORS = (OperationalError, InterfaceError)

_lock = threading.Lock()
_losses = 0  # connection losses seen by this process
_seen = threading.local()  # per thread: the losses it has already dropped its connection for


def lost():
    """Record that a connection was lost: every thread drops its own before its next query."""
    global _losses
    with _lock:
        _losses += 1


def drop_if_lost():
    """Close this thread's connection if a loss was recorded since it last looked. Never inside a
    transaction (the caller's atomic block owns the connection and fails on its own)."""
    losses = _losses
    if getattr(_seen, "losses", 0) != losses and not connection.in_atomic_block:
        _seen.losses = losses
        connection.close()


def run(function, *args, **kwargs):
    """Call `function` (ORM work, in the current thread) on a connection that is not known to be dead."""
    drop_if_lost()
    try:
        return function(*args, **kwargs)
    except CONNECTION_ERRORS:
        lost()
        raise
