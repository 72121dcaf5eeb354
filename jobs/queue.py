"""The real job queue behind orchestrator.job_queue, installed by JobsConfig.ready()."""

from jobs.models import Job
from jobs.queries import live_active_jobs
from jobs.services import create_job
from orchestrator.job_queue import JobRef


def _ref(job: Job) -> JobRef:
    return JobRef(id=str(job.pk), type=job.type, type_label=job.type_label)


class JobsQueue:
    def submit(self, job_type: str, parameters: dict, created_by: str, requested_by: str) -> JobRef:
        return _ref(create_job(job_type, parameters, created_by=created_by, requested_by=requested_by))

    def find_active(self, job_type: str, parameters: dict) -> JobRef | None:
        jobs = live_active_jobs(job_type)
        for name, value in parameters.items():
            jobs = jobs.filter(**{f"parameters__{name}": value})
        job = jobs.order_by("created_at").first()
        return _ref(job) if job is not None else None
