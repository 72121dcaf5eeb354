"""The benchmarks' raw-SQL table fills keep up with the models (a new NOT NULL column must be filled)."""

import pytest
from django.db import connection

from bench.common import run_sql
from bench.generation_check import FILL
from stash.models import Scene
from stash.scenes.generation import scenes_need_generation


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks run on PostgreSQL")
def test_the_generation_check_fill_makes_valid_scenes():
    run_sql(FILL, table=Scene._meta.db_table, rows="2000")
    assert Scene.objects.count() == 2000
    assert Scene.objects.filter(generated=False).count() == 2  # one in a thousand
    assert scenes_need_generation()
