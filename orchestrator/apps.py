from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"

    def ready(self):
        from orchestrator import sqlite_files

        sqlite_files.connect()
