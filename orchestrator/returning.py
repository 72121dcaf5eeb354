"""Writing a row and getting it back whole in one statement (UPDATE … RETURNING), as model instances.

The hot paths (a daemon's status write, a job's claim and finish) push the whole new state of the row
they write, so they read it back in the same statement (PostgreSQL, and SQLite ≥ 3.35). Django's
RawQuerySet could turn the rows into instances too, but it works out its column-to-field plan again on
every query, which cost as much CPU as the round trip itself; here the plan is made once per model and
connection.
"""

from django.db import DEFAULT_DB_ALIAS, connections


def update_returning(model, where: dict, *, using: str = DEFAULT_DB_ALIAS, **fields) -> list:
    """UPDATE the rows of `model` matching `where` (field=value, or field=list: IN) with `fields`;
    return them as instances (in no particular order). Used for compare-and-set: put the expected
    state in `where` and check what comes back."""
    connection = connections[using]
    meta, quote = model._meta, connection.ops.quote_name
    sets, params = [], []
    for name, value in fields.items():
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    conditions = []
    for name, value in where.items():
        field = meta.pk if name == "pk" else meta.get_field(name)
        values = list(value) if isinstance(value, list | tuple) else [value]
        conditions.append(f"{quote(field.column)} IN ({', '.join(['%s'] * len(values))})")
        params += [field.get_db_prep_value(v, connection) for v in values]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)} "
        f"RETURNING {returning_columns(model, using)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return from_rows(model, cursor.fetchall(), using)


def returning_columns(model, using: str = DEFAULT_DB_ALIAS, table: str = "") -> str:
    """Every column of `model`, in the order from_rows() expects (optionally qualified by `table`)."""
    quote = connections[using].ops.quote_name
    prefix = f"{quote(table)}." if table else ""
    return ", ".join(prefix + quote(f.column) for f in model._meta.concrete_fields)


def from_rows(model, rows, using: str = DEFAULT_DB_ALIAS) -> list:
    """Instances of `model` from rows of returning_columns(), converted as the ORM converts them."""
    connection = connections[using]
    names, converters = _plan(model, connection)
    instances = []
    for row in rows:
        values = list(row)
        for index, functions, column in converters:
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        instances.append(model.from_db(using, names, values))
    return instances


def _plan(model, connection):
    """(field names, per-column converters) for `model` on this connection, worked out once."""
    plans = connection.__dict__.setdefault("_returning_plans", {})
    plan = plans.get(model)
    if plan is None:
        names, converters = [], []
        for index, field in enumerate(model._meta.concrete_fields):
            names.append(field.attname)
            column = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                converters.append((index, functions, column))
        plan = plans[model] = (names, converters)
    return plan
