from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from jobs import live, wakeups
        from jobs.queue import JobsQueue
        from orchestrator import job_queue

        live.connect()
        wakeups.connect()
        # Page buttons of the features below (stash) start jobs through this port.
        job_queue.install(JobsQueue())
