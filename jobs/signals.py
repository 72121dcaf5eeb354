from django.db.models.signals import post_save
from django.dispatch import receiver

from jobs.models import Job
from jobs.services import publish_job


@receiver(post_save, sender=Job, dispatch_uid="jobs.publish_on_save")
def publish_on_save(sender, instance: Job, **kwargs):
    publish_job(instance)
