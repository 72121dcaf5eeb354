"""The database: which backend and server, and every migration applied."""

from django.db import connection

from health.checks import Check, Result, error, ok
from orchestrator import dbcheck


def run() -> Result:
    facts = {"backend": connection.vendor, "database": dbcheck.describe()}
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                facts["version"] = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
            elif connection.vendor == "sqlite":
                cursor.execute("SELECT sqlite_version()")
                facts["version"] = f"SQLite {cursor.fetchone()[0]}"
    except Exception as exc:  # any driver error: the check says so instead of failing
        return error(f"The database cannot be used: {exc}", "Start the database server, or correct DATABASE_URL.")
    problem = dbcheck.problem()
    if problem:
        return error(problem, "Run `manage.py migrate` (make run does it), then restart the stack.", **facts)
    return ok(f"{facts.get('version', connection.vendor)}, {facts['database']}: every migration applied.", **facts)


CHECK = Check("database", "Database", "The database answers and every migration is applied.", run)
