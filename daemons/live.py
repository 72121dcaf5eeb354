"""What live pages see of daemons: the payloads, and the receivers that publish them after commit.

`connect()` (from DaemonsConfig.ready) wires the receivers: a daemon's status_changed and post_save
push its whole state to the daemons group; a new log line or job-history entry goes to its daemon's
page group. It also registers the connect-time snapshot of those groups.
"""

from django.db import transaction
from django.db.models.signals import post_save

from daemons import schedule
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from orchestrator.live import groups, snapshots
from orchestrator.live.fragments import render_fragment
from orchestrator.live.groups import LiveGroup, page_key
from orchestrator.live.publisher import publish
from orchestrator.live.signals import status_changed

DAEMONS = "daemons"
GROUP = LiveGroup(DAEMONS, page="daemon", key=r"[-a-z0-9_]{1,80}")


def daemon_group(name: str) -> str:
    return GROUP.page_group(name)


def connect():
    status_changed.connect(publish_state, sender=Daemon, dispatch_uid="daemons.live.state")
    post_save.connect(publish_saved, sender=Daemon, dispatch_uid="daemons.live.saved")
    post_save.connect(publish_log, sender=DaemonLog, dispatch_uid="daemons.live.log")
    post_save.connect(publish_history, sender=DaemonJobHistory, dispatch_uid="daemons.live.history")
    groups.register(GROUP)
    snapshots.register(DAEMONS, snapshot)


# --- payloads ----------------------------------------------------------------------------------


def daemon_payload(daemon: Daemon) -> dict:
    (daemon,) = schedule.attach([daemon])
    return {
        "type": "daemon",
        "daemon": schedule.state(daemon),
        "html": {"status": render_fragment("daemons/_status.html", {"daemon": daemon})},
    }


def log_payload(entry: DaemonLog) -> dict:
    return {
        "type": "daemon_log",
        "log": entry.to_state(),
        "html": {"row": render_fragment("daemons/_log_row.html", {"entry": entry})},
    }


def history_payload(entry: DaemonJobHistory) -> dict:
    return {
        "type": "daemon_job_history",
        "entry": entry.to_state(),
        "html": {"row": render_fragment("daemons/_history_row.html", {"entry": entry})},
    }


def snapshot(group: str) -> list[dict]:
    """The daemons group: every daemon's state; daemon.<name>: that daemon's (a page re-reads its log and
    history itself after a reconnect)."""
    if group == DAEMONS:
        return [daemon_payload(d) for d in Daemon.objects.all()]
    daemon = Daemon.objects.filter(name=page_key(group)).first()
    return [daemon_payload(daemon)] if daemon else []


# --- receivers -----------------------------------------------------------------------------------


def publish_state(sender, instance: Daemon, **kwargs):
    """status_changed: after commit, push the row the write read in full (no re-read)."""
    transaction.on_commit(lambda: publish(DAEMONS, daemon_payload(instance)))


def publish_saved(sender, instance: Daemon, **kwargs):
    """post_save: save(update_fields=…) writes some fields of an instance whose others may be older than
    the row, so the row is re-read after commit and pushed like a status change."""
    daemon_id = instance.pk

    def send():
        daemon = Daemon.objects.filter(pk=daemon_id).first()
        if daemon is not None:
            publish(DAEMONS, daemon_payload(daemon))

    transaction.on_commit(send)


def publish_log(sender, instance: DaemonLog, created: bool, **kwargs):
    if created:
        transaction.on_commit(lambda: publish(daemon_group(instance.daemon.name), log_payload(instance)))


def publish_history(sender, instance: DaemonJobHistory, created: bool, **kwargs):
    if created:
        transaction.on_commit(lambda: publish(daemon_group(instance.daemon.name), history_payload(instance)))
