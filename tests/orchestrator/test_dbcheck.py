"""Operator commands against a missing or unmigrated database: one line naming it, a non-zero exit, and
nothing created (no SQLite file, no secret key). Real `manage.py` processes with the project settings."""

import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing

import psycopg
import pytest

from tests.conftest import ROOT

PG = "postgres://postgres@127.0.0.1:5432"


def manage(data_dir, *args, database_url=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="orchestrator.settings", DATA_DIR=str(data_dir))
    for name in ("DATABASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def one_line(result) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [("daemonctl", "status"), ("rundaemon", "test"), ("runjobs", "--once"), ("ensureadmin",)],
    ids=lambda c: c[0],
)
def test_a_command_with_an_empty_data_dir_names_the_database_and_creates_nothing(tmp_path, command):
    line = one_line(manage(tmp_path, *command))
    assert f"SQLite file {tmp_path / 'orchestrator.sqlite3'}" in line
    assert f"DATA_DIR={tmp_path}" in line and "DATABASE_URL not set" in line
    assert "runstack.json" in line
    assert list(tmp_path.iterdir()) == []  # neither the database nor data/secret_key


def test_an_unmigrated_sqlite_database_is_reported_and_left_as_it_was(tmp_path):
    path = tmp_path / "orchestrator.sqlite3"
    sqlite3.connect(path).close()
    line = one_line(manage(tmp_path, "daemonctl", "status"))
    assert f"SQLite file {path}" in line and "unapplied migrations" in line
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("select name from sqlite_master").fetchall() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orchestrator.sqlite3"]


@pytest.fixture
def empty_postgres_database():
    name = f"unmigrated_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_unmigrated_postgresql_database_is_reported(tmp_path, empty_postgres_database):
    line = one_line(manage(tmp_path, "daemonctl", "status", database_url=f"{PG}/{empty_postgres_database}"))
    assert f"database '{empty_postgres_database}' on 127.0.0.1:5432" in line
    assert "unapplied migrations" in line and "DATABASE_URL set" in line
    with psycopg.connect(f"{PG}/{empty_postgres_database}") as conn:
        assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_postgresql_database_is_reported(tmp_path):
    missing = f"missing_{uuid.uuid4().hex[:12]}"
    line = one_line(manage(tmp_path, "daemonctl", "status", database_url=f"{PG}/{missing}"))
    assert f"database '{missing}' on 127.0.0.1:5432" in line and "cannot be used" in line
    assert "does not exist" in line
