"""Tag a process's database connections so pg_stat_activity shows who is who."""

from django.conf import settings


def tag_connection(role: str):
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        db.setdefault("OPTIONS", {})["application_name"] = f"orchestrator:{role}"[:63]
