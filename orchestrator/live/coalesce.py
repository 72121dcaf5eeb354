"""One push per object and transaction, however many writes of it the transaction made.

An app whose writes bypass save() (update(), bulk_create()) notes each write with `note(key, *items)`;
after the transaction commits, `flush(key, items)` runs once per key with every item noted for it, and
reads and publishes the object's whole state. In autocommit each note flushes at once.
"""

import threading
from collections.abc import Callable, Hashable
from functools import partial

from django.db import transaction


class Coalescer:
    def __init__(self, flush: Callable[[Hashable, set], None]):
        self._flush = flush
        # Per thread: a thread's transaction is its own (web requests run in several threads at once).
        self._local = threading.local()

    def _pending(self) -> dict:
        if not hasattr(self._local, "pending"):
            self._local.pending = {}
        return self._local.pending

    def note(self, key: Hashable, *items: Hashable):
        self._pending().setdefault(key, set()).update(items)
        # A callback per note; the first after commit flushes, the others find nothing left. A rolled-back
        # transaction drops its callbacks: what it noted goes out (re-read, so true) with the next flush.
        transaction.on_commit(partial(self._run, key))

    def _run(self, key: Hashable):
        items = self._pending().pop(key, None)
        if items is not None:
            self._flush(key, items)
