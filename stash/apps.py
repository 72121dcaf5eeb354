from django.apps import AppConfig


class StashConfig(AppConfig):
    name = "stash"
    verbose_name = "Stash"
