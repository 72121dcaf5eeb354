from django.apps import AppConfig


class StashConfig(AppConfig):
    name = "stash"
    verbose_name = "Stash"

    def ready(self):
        from stash.sync import lookups  # noqa: F401  (registers the `__any` lookup the sync pages use)
