"""Lease fencing (issue 14, item 15): a daemon's status writes, job launches and log lines carry its host's
lease token (in the same statement, or in a transaction holding the row's lock), so a host that lost
its lease changes nothing."""

import time

import pytest
from asgiref.sync import async_to_sync

from daemons import services
from daemons.lease import Lease
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from daemons.registry import get_kind
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def hosted(daemon, token: str):
    Daemon.objects.filter(pk=daemon.pk).update(lease_owner=token)
    lease = Lease("ours", renewed_at=time.monotonic())
    return get_kind("test")(daemon.pk, daemon.name, services.effective_config(daemon), lease)


def test_without_the_lease_no_status_is_written_and_no_job_launched(daemon):
    subject = hosted(daemon, "another-host")
    with pytest.raises(services.LeaseLost):
        async_to_sync(subject.update_status)("Checking")
    with pytest.raises(services.LeaseLost):
        async_to_sync(subject.launch_job)("test", {"steps": 1}, reason="r")
    with pytest.raises(services.LeaseLost):
        async_to_sync(subject.log)("INFO", "Still here")
    with pytest.raises(services.LeaseLost):
        async_to_sync(subject.run_step)()
    d = Daemon.objects.get(pk=daemon.pk)
    assert d.current_status is None and d.status_next_at is None
    assert not Job.objects.exists()
    assert not DaemonJobHistory.objects.exists()
    assert not DaemonLog.objects.exists()


def test_with_the_lease_statuses_and_launches_go_through(daemon):
    subject = hosted(daemon, "ours")
    async_to_sync(subject.update_status)("Checking")
    job = async_to_sync(subject.launch_job)("test", {"steps": 1}, reason="r")
    assert Daemon.objects.get(pk=daemon.pk).current_status == "Checking"
    assert list(DaemonJobHistory.objects.values_list("job_uuid", "action")) == [(job.pk, "LAUNCHED")]


def test_the_hosts_own_log_lines_are_fenced_too(daemon):
    # "Daemon started", "Configuration updated", "Daemon crashed" … come from the host, not the loop: a host
    # that lost its lease writes none of them (it says so on its process log instead).
    from daemons.host import DaemonHost

    host = DaemonHost(daemon.name)
    async_to_sync(host._load)()
    Daemon.objects.filter(pk=daemon.pk).update(lease_owner="another-host")
    async_to_sync(host._log)("INFO", "Daemon started on a frozen host")
    assert not DaemonLog.objects.exists()
    Daemon.objects.filter(pk=daemon.pk).update(lease_owner=host.token)
    async_to_sync(host._log)("INFO", "Daemon started")
    assert list(DaemonLog.objects.values_list("message", flat=True)) == ["Daemon started"]


def test_the_download_daemon_asks_stash_about_its_scan_before_locking_its_row(daemon, monkeypatch):
    # The scan's paths are checked with Stash (up to 8 s); done inside the fenced transaction, the lock on
    # the Daemon row would be held across that call, and PostgreSQL ends a host's transaction left idle
    # past the lease (orchestrator/dbtag.py).
    from django.db import connection

    from daemons.kinds import download_processor
    from stash.connection import scan_scope
    from stash.downloads.models import FileStatus, HandledDownload

    HandledDownload.objects.create(
        torrent_hash="ab" * 20,
        torrent_name="T",
        relative_path="T/a.mkv",
        source_path="/downloads/T/a.mkv",
        destination_path="/media/library/T/a.mkv",
        status=FileStatus.PLACED,
        method="hardlink",
    )
    asked_in_transaction = []
    monkeypatch.setattr(
        scan_scope, "quick_library_refusal", lambda paths: asked_in_transaction.append(connection.in_atomic_block) or ""
    )
    Daemon.objects.filter(pk=daemon.pk).update(lease_owner="ours")
    scan = download_processor._start_scan(daemon, "ours")
    assert scan is not None and scan.type == "stash_scan" and scan.parameters["paths"] == ["/media/library/T"]
    assert asked_in_transaction == [False]
    assert DaemonJobHistory.objects.filter(job_uuid=scan.pk, action="LAUNCHED").exists()
