from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from jobs import live, notify, wakeups
        from jobs.queue import JobsQueue
        from orchestrator import job_queue

        live.connect()
        wakeups.connect()
        notify.connect()
        # Page buttons of the features below (stash) start jobs through this port.
        job_queue.install(JobsQueue())
