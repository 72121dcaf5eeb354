from django.apps import AppConfig


class StashConfig(AppConfig):
    name = "stash"
    verbose_name = "Stash"

    def ready(self):
        from stash.downloads import live as downloads_live
        from stash.plans import live as plans_live
        from stash.sync import lookups  # noqa: F401  (registers the `__any` lookup the sync pages use)

        plans_live.connect()
        downloads_live.connect()
