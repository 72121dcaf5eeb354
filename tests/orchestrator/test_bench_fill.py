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


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks run on PostgreSQL")
def test_the_history_fill_makes_valid_jobs_and_status_events(client):
    from django.contrib.auth.models import User

    from bench import history
    from daemons import services
    from daemons.models import Daemon, DaemonStatusEvent
    from jobs.models import Job

    services.ensure_daemon_rows()
    tables = {"jobs": Job._meta.db_table, "events": DaemonStatusEvent._meta.db_table, "daemons": Daemon._meta.db_table}
    run_sql(history.FILL_JOBS, rows="900", step=str(history.YEAR_SECONDS / 900), **tables)
    run_sql(history.FILL_EVENTS, per_daemon="200", step=str(history.YEAR_SECONDS / 200), **tables)
    assert Job.objects.count() == 900 and DaemonStatusEvent.objects.count() == 1000
    client.force_login(User.objects.create_user("bench-reader"))
    assert client.get("/activity/?days=30").status_code == 200
    assert client.get(f"/daemons/{Daemon.objects.order_by('id').first().name}/timeline/?hours=168").status_code == 200
