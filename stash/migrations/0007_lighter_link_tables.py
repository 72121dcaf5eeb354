"""The mirror's link tables (scene ↔ performer, scene ↔ tag, marker ↔ tag) made cheaper to fill: without
foreign-key constraints in the database, and without the index on their first column.

A first sync of 100k scenes writes ~570k link rows; PostgreSQL checked both foreign keys of each at
commit (two index probes per row), about three quarters of all the checks the sync paid for. The links
are only ever written by the sync, after the entities they name (missing ones get placeholders,
stash/sync/pages.py) and deleted with them by Django's collector, so the constraints guarded nothing the
code does not already ensure. Files and markers keep theirs.

The index Django makes on the owner column (scene_id, scenemarker_id) repeats the first column of the
table's unique (owner, other) index, which serves every lookup by owner as well: one index fewer to
maintain per link row. The index on the other column (tag_id, performer_id) stays.

Django treats `db_constraint` on a many-to-many field as state only (its AlterField is a no-op for the
auto-created tables), so the constraints are dropped here by name, as PostgreSQL's catalog lists them.
SQLite keeps the constraints (dropping one there means rebuilding the table, and SQLite is not where
libraries of this size live); the redundant index goes on both.
"""

from django.db import migrations, models

# Each link table and its owner column.
LINK_TABLES = {"stash_scene_performers": "scene_id", "stash_scene_tags": "scene_id", "stash_scenemarker_tags": "scenemarker_id"}


def lighten_link_tables(apps, schema_editor):
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    with connection.cursor() as cursor:
        for table, owner in LINK_TABLES.items():
            for name, c in connection.introspection.get_constraints(cursor, table).items():
                if c["foreign_key"] and connection.vendor == "postgresql":
                    schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                elif c["index"] and not c["unique"] and not c["primary_key"] and c["columns"] == [owner]:
                    schema_editor.execute(f"DROP INDEX {quote(name)}")


def restore_link_tables(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, owner in LINK_TABLES.items():
        schema_editor.execute(f"CREATE INDEX {quote(f'{table}_{owner}_owner')} ON {quote(table)} ({quote(owner)})")
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, field_name in (("scene", "performers"), ("scene", "tags"), ("scenemarker", "tags")):
        through = apps.get_model("stash", model_name)._meta.get_field(field_name).remote_field.through
        for field in through._meta.local_fields:
            if field.is_relation:
                schema_editor.execute(schema_editor._create_fk_sql(through, field, "_fk_%(to_table)s_%(to_column)s"))


class Migration(migrations.Migration):
    dependencies = [
        ("stash", "0006_scene_markers_changed_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scene",
            name="performers",
            field=models.ManyToManyField(blank=True, db_constraint=False, related_name="scenes", to="stash.performer"),
        ),
        migrations.AlterField(
            model_name="scene",
            name="tags",
            field=models.ManyToManyField(blank=True, db_constraint=False, related_name="scenes", to="stash.tag"),
        ),
        migrations.AlterField(
            model_name="scenemarker",
            name="tags",
            field=models.ManyToManyField(blank=True, db_constraint=False, related_name="markers", to="stash.tag"),
        ),
        migrations.RunPython(lighten_link_tables, restore_link_tables),
    ]
