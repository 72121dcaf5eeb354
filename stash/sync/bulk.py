"""Bulk writes for sync pages: upserts, missing-row inserts and link-table rewrites.

On PostgreSQL rows travel by COPY (into a temporary table, merged with one INSERT … ON CONFLICT), which
is several times cheaper than Django's bulk_create for pages of thousands of rows: bulk_create spends
most of its time preparing each value of each row in Python. Elsewhere (SQLite) the ORM does the same
work with bulk_create. Both paths take model instances and give the same result.
"""

import contextlib
import weakref

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

UPSERT_BATCH = 2000


def upsert(model, rows: list[dict], update_fields: list[str] | None):
    """Insert `rows` (attribute name → value; missing ones take the field's default); on an existing id
    overwrite `update_fields` (None: leave existing rows untouched)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _pg_upsert(model, rows, update_fields)
        return
    objs = [model(**row) for row in rows]
    if update_fields is None:
        model.objects.bulk_create(objs, ignore_conflicts=True, batch_size=UPSERT_BATCH)
    else:
        model.objects.bulk_create(
            objs, update_conflicts=True, unique_fields=["id"], update_fields=update_fields, batch_size=UPSERT_BATCH
        )


def insert(model, rows: list[dict]):
    """Insert `rows`, all of them new: an id the table holds already raises an IntegrityError (the
    caller's savepoint then rolls it back). On PostgreSQL by COPY straight into the table: no staging
    table, no merge, no conflict probes, which is about half of a first sync's database work."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        fields = model._meta.concrete_fields
        _pg_copy(model._meta.db_table, [f.column for f in fields], map(_pg_row_maker(model), rows))
    else:
        model.objects.bulk_create([model(**row) for row in rows], batch_size=UPSERT_BATCH)


def link(through, owner_field: str, other_field: str, pairs: set[tuple[int, int]]):
    """Insert link rows for owners that have none yet (see `relink`)."""
    if not pairs:
        return
    if connection.vendor == "postgresql":
        columns = [through._meta.get_field(owner_field).column, through._meta.get_field(other_field).column]
        _pg_copy(through._meta.db_table, columns, pairs)
    else:
        rows = [through(**{f"{owner_field}_id": a, f"{other_field}_id": b}) for a, b in pairs]
        through.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)


def psycopg_integrity_error() -> type[Exception]:
    """The driver's IntegrityError: COPY runs on psycopg's own cursor, whose errors Django does not wrap."""
    try:
        import psycopg
    except ImportError:  # SQLite-only installs
        return IntegrityError
    return psycopg.IntegrityError


def relink(through, owner_field: str, other_field: str, owner_ids: list[int], pairs: set[tuple[int, int]]):
    """Replace the link rows of `owner_ids` with exactly `pairs` (one delete, one insert)."""
    if not owner_ids:
        return
    through.objects.filter(**{f"{owner_field}__any": owner_ids}).delete()
    link(through, owner_field, other_field, pairs)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _pg_copy(table: str, columns: list[str], rows):
    with connection.cursor() as cursor:
        statement = f"COPY {_quote(table)} ({', '.join(map(_quote, columns))}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


# Staging tables created per database session, keyed by the driver connection (which a reconnect
# replaces) held weakly: an id() key could be reused by a new connection that has no staging tables yet.
_staged: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ensure_staging(staging: str, table: str):
    """A temporary copy of `table`'s columns for this session; emptied at every commit."""
    created = _staged.setdefault(connection.connection, set())
    if staging in created:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_quote(staging)} (LIKE {_quote(table)}) ON COMMIT DELETE ROWS"
        )
    # Known to exist only once the creating transaction committed (a rollback takes the table with it).
    transaction.on_commit(lambda: created.add(staging))


def _pg_row_maker(model):
    """A function turning a row dict into the tuple of all of `model`'s columns, as COPY takes it.

    A column the row lacks takes the field's default (auto_now fields always now); the default is made
    once per call, as COPY serialises each value at once and nothing can change a shared one."""
    import orjson
    from psycopg.types.json import Jsonb

    now = timezone.now()
    columns = []
    for f in model._meta.concrete_fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            columns.append((None, now))
        else:
            columns.append((f.attname, f.get_default() if f.has_default() else None))
    json_positions = [i for i, f in enumerate(model._meta.concrete_fields) if f.get_internal_type() == "JSONField"]
    stamped = [(i, value) for i, (attname, value) in enumerate(columns) if attname is None]
    read = [(attname, default) for attname, default in columns if attname is not None]
    if stamped or json_positions:

        def as_tuple(row: dict) -> tuple:
            values = [row.get(attname, default) for attname, default in read]
            for i, value in stamped:
                values.insert(i, value)
            for i in json_positions:
                if values[i] is not None:
                    # orjson: psycopg's default, the standard json module, was a tenth of the writer's time.
                    values[i] = Jsonb(values[i], dumps=orjson.dumps)
            return tuple(values)

        return as_tuple
    return lambda row: tuple([row.get(attname, default) for attname, default in read])


def _pg_upsert(model, rows: list[dict], update_fields: list[str] | None):
    # The staging table empties itself at commit: COPY and merge must share one transaction.
    assert connection.in_atomic_block, "bulk upserts run inside transaction.atomic()"
    meta = model._meta
    fields = meta.concrete_fields
    copied = map(_pg_row_maker(model), rows)
    table = meta.db_table
    staging = f"sync_staging_{table}"
    columns = ", ".join(_quote(f.column) for f in fields)
    _ensure_staging(staging, table)
    _pg_copy(staging, [f.column for f in fields], copied)
    if update_fields is None:
        conflict = "DO NOTHING"
    else:
        columns_to_set = [meta.get_field(name).column for name in update_fields]
        conflict = "DO UPDATE SET " + ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in columns_to_set)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_quote(table)} ({columns}) SELECT {columns} FROM {_quote(staging)} "
            f"ON CONFLICT ({_quote(meta.pk.column)}) {conflict}"
        )
        cursor.execute(f"DELETE FROM {_quote(staging)}")


@contextlib.contextmanager
def deferred_flush():
    """Commits in the block return before their WAL reaches the disk (PostgreSQL's synchronous_commit
    off for this session; elsewhere nothing). The first synchronous commit after it flushes them all,
    as PostgreSQL writes its log in order: a crash can lose only commits made since the last one."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def refresh_statistics(models):
    """ANALYZE the tables of `models` and their many-to-many link tables (PostgreSQL; elsewhere nothing).

    A mirror that grows from empty in one run has no statistics until autovacuum's next round, and
    without them the planner takes the id-list lookups of every page for large scans: the per-page cost
    then grows with the table (quadratic over a first full sync)."""
    if connection.vendor != "postgresql":
        return
    tables = []
    for model in models:
        tables.append(model._meta.db_table)
        tables.extend(f.remote_field.through._meta.db_table for f in model._meta.local_many_to_many)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(_quote(t) for t in dict.fromkeys(tables)))
