"""`field__any=[ids]`: membership in a list of integers passed as ONE query parameter.

Sync pages filter by hundreds of ids at a time. `__in` turns each id into its own parameter, which Django
prepares one by one and the database parses and plans one by one: on PostgreSQL that was most of a
page's query time. `__any` sends the whole list as an array (`= ANY(%s::bigint[])`); on SQLite as a
JSON text read back with json_each (also free of SQLite's parameter limit).
"""

import json

from django.db import models


class AnyOf(models.Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def _ids(self) -> list[int]:
        return [int(value) for value in self.rhs]

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*params, self._ids()]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self._ids())]


models.IntegerField.register_lookup(AnyOf)  # BigIntegerField and the auto fields too
models.ForeignKey.register_lookup(AnyOf)
