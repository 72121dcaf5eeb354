from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = "Health and notifications"

    def ready(self):
        from health import live
        from health.notifications.outbox import enqueue
        from orchestrator import notify

        live.connect()
        # Events raised anywhere below (jobs, daemons, downloads, plans) reach the outbox through the port.
        notify.install(enqueue)
