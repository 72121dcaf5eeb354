from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DaemonsConfig(AppConfig):
    name = "daemons"
    verbose_name = "Daemons"

    def ready(self):
        from daemons import signals  # noqa: F401  (connects the live-publish handlers)
        from daemons.services import ensure_daemon_rows

        post_migrate.connect(_ensure_rows, sender=self, dispatch_uid="daemons.ensure_rows")
        self._ensure_daemon_rows = ensure_daemon_rows


def _ensure_rows(sender, using="default", **kwargs):
    sender._ensure_daemon_rows(using=using)
