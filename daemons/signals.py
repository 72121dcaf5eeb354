from django.db.models.signals import post_save
from django.dispatch import receiver

from daemons.models import Daemon
from daemons.services import publish_daemon


@receiver(post_save, sender=Daemon, dispatch_uid="daemons.publish_on_save")
def publish_on_save(sender, instance: Daemon, **kwargs):
    """Edits through save() (the admin, for one) reach live pages like every other write."""
    publish_daemon(instance.pk)
