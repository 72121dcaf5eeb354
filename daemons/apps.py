from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DaemonsConfig(AppConfig):
    name = "daemons"
    verbose_name = "Daemons"

    def ready(self):
        from daemons import live

        live.connect()
        post_migrate.connect(_ensure_rows, sender=self, dispatch_uid="daemons.ensure_rows")


def _ensure_rows(sender, using="default", **kwargs):
    """Every registered daemon kind gets its row after each migrate (and after test flushes)."""
    from daemons.services import ensure_daemon_rows

    ensure_daemon_rows(using=using)
