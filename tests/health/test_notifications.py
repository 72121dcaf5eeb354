"""Notifications through Apprise to a local HTTP endpoint (its json:// target): exactly once per event,
only to the URLs that chose the event, rate-limited with a count of what was held back, retried, and
shown on the health page when they fail. Events come from the real places that raise them."""

import os
import sys
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from health.models import CheckState
from health.notifications.models import DeliveryStatus, Notification, NotificationTarget
from health.notifications.sender import deliver_due
from health.runner import run_check
from orchestrator import notify
from tests.conftest import ROOT, wait_for
from tests.health.endpoint import Endpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.stop()


def target(endpoint, *events, name="phone"):
    from health.notifications.apprise_urls import parse

    parsed = parse(endpoint.apprise_url)
    return NotificationTarget.objects.create(
        name=name, url=endpoint.apprise_url, events=list(events), service=parsed.service, masked_url=parsed.masked
    )


def test_an_event_reaches_the_endpoint_exactly_once(endpoint):
    phone = target(endpoint, notify.JOB_FAILED)
    notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync", "Stash is unreachable", level="failure")
    assert Notification.objects.filter(target=phone, status=DeliveryStatus.PENDING).count() == 1
    assert deliver_due() == 1
    assert deliver_due() == 0
    assert endpoint.titles() == ["Job failed: Sync"]
    assert endpoint.messages[0]["message"] == "Stash is unreachable" and endpoint.messages[0]["type"] == "failure"
    message = Notification.objects.get()
    assert message.status == DeliveryStatus.SENT and message.attempts == 1
    assert NotificationTarget.objects.get().last_sent_at is not None


def test_only_the_urls_that_chose_an_event_get_it(endpoint):
    other = Endpoint()
    try:
        target(endpoint, notify.PLAN_READY)
        target(other, notify.JOB_FAILED, notify.PLAN_READY, name="chat")
        notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
        notify.event(notify.PLAN_READY, "plan 1", "Plan ready for review: X")
        deliver_due()
        assert endpoint.titles() == ["Plan ready for review: X"]
        assert sorted(other.titles()) == ["Job failed: Sync", "Plan ready for review: X"]
    finally:
        other.stop()


def test_an_event_in_a_rolled_back_transaction_notifies_nobody(endpoint):
    from django.db import transaction

    target(endpoint, notify.JOB_FAILED)
    with pytest.raises(RuntimeError), transaction.atomic():
        notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists()


def test_repeats_are_held_back_and_counted_in_the_next_message(endpoint, settings):
    settings.NOTIFY_RATE_LIMIT_MINUTES = 10
    target(endpoint, notify.JOB_FAILED)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        for _ in range(3):
            notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync", "again")
        notify.event(notify.JOB_FAILED, "analysis", "Job failed: Analysis", "other subject")
        deliver_due()
        assert endpoint.titles() == ["Job failed: Sync", "Job failed: Analysis"]
        assert Notification.objects.filter(status=DeliveryStatus.SUPPRESSED).count() == 2

        clock.shift(timedelta(minutes=9))
        notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync", "still")
        deliver_due()
        assert len(endpoint.messages) == 2  # still inside the window: held back too

        clock.shift(timedelta(minutes=2))
        notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync", "later")
        deliver_due()
    assert len(endpoint.messages) == 3
    assert endpoint.messages[2]["message"].startswith("later")
    assert "(3 more like this were held back since" in endpoint.messages[2]["message"]
    assert Notification.objects.get(body="later").reported_suppressed == 3


def test_a_failed_delivery_is_retried_then_given_up_and_shown_on_the_health_page(endpoint, settings):
    settings.NOTIFY_RETRY_SECONDS = [0, 0]
    phone = target(endpoint, notify.JOB_FAILED)
    endpoint.status = 500
    notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
    deliver_due()
    message = Notification.objects.get()
    assert message.status == DeliveryStatus.PENDING and message.attempts == 1 and message.error
    deliver_due()
    deliver_due()
    message.refresh_from_db()
    assert message.status == DeliveryStatus.FAILED and message.attempts == 3
    assert len(endpoint.messages) == 3
    phone.refresh_from_db()
    assert phone.last_error and phone.last_error_at
    row = run_check("notifications")
    assert row.state == CheckState.WARNING and "not getting through" in row.reason and "json://…/****" in row.reason

    endpoint.status = 200
    notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
    deliver_due()
    assert run_check("notifications").state == CheckState.OK


def test_a_job_failing_in_a_real_worker_is_notified_once_by_runhealth(endpoint, processes):
    from jobs.models import Job, JobStatus
    from jobs.services import create_job

    target(endpoint, notify.JOB_FAILED)
    job = create_job("test", {"steps": 2, "step_seconds": 0, "fail_at_step": 1})
    worker = processes.manage("runjobs", "--once")
    assert worker.wait(timeout=60) == 0, processes.output(worker)
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    sender = processes.start([sys.executable, str(ROOT / "manage.py"), "runhealth", "--once"])
    assert sender.wait(timeout=120) == 0, processes.output(sender)
    assert endpoint.titles() == ["Job failed: Test job"]
    assert "Simulated failure at step 1" in endpoint.messages[0]["message"]


def test_health_checks_notify_when_failing_and_when_restored_once_each(endpoint, stash_emulator):
    from tests.health.test_checks import restart

    target(endpoint, notify.HEALTH_FAILED, notify.HEALTH_RESTORED)
    run_check("stash")
    stash_emulator.server.stop()
    run_check("stash")
    run_check("stash")  # still failing: no second message
    restart(stash_emulator)
    run_check("stash")
    run_check("stash")
    deliver_due()
    assert endpoint.titles() == ["Health check failed: Stash", "Health check ok again: Stash"]
    assert "Fix: Start Stash" in endpoint.messages[0]["message"]


def test_the_sender_loop_delivers_while_runhealth_runs(endpoint, processes):
    target(endpoint, notify.DOWNLOADS_IMPORTED)
    processes.env = {**processes.env, "NOTIFY_POLL_SECONDS": "0.2", "HEALTH_CHECK_INTERVAL_SECONDS": "3600"}
    health = processes.manage("runhealth")
    notify.event(notify.DOWNLOADS_IMPORTED, "downloads", "Imported 2 files from 1 download", "Some torrent")
    wait_for(lambda: endpoint.titles(), timeout=30, message="the message")
    assert endpoint.titles() == ["Imported 2 files from 1 download"]
    health.terminate()
    assert health.wait(timeout=20) == 0


# --- the settings page and the API -------------------------------------------------------------------


def test_adding_a_url_on_the_page_and_sending_a_test(browser, endpoint):
    response = browser.post(
        "/settings/notifications/",
        {
            "name": "phone",
            "url": endpoint.apprise_url,
            "events": [notify.JOB_FAILED, notify.PLAN_READY],
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    phone = NotificationTarget.objects.get()
    assert phone.events == [notify.JOB_FAILED, notify.PLAN_READY] and phone.service == "JSON"
    response = browser.post(f"/settings/notifications/{phone.pk}/test/", follow=True)
    assert "Test sent to phone" in response.content.decode()
    assert endpoint.titles() == ["Test from Stash Orchestrator"]

    endpoint.stop()
    response = browser.post(f"/settings/notifications/{phone.pk}/test/", follow=True)
    assert "Test to phone failed" in response.content.decode()


def test_an_url_apprise_cannot_parse_is_a_form_error_and_changes_nothing(browser):
    response = browser.post("/settings/notifications/", {"url": "nosuchservice://x", "events": [notify.JOB_FAILED]})
    assert response.status_code == 400
    assert "Apprise cannot use this URL" in response.content.decode()
    response = browser.post("/settings/notifications/", {"url": "discord://1/2", "events": ["no_such_event"]})
    assert response.status_code == 400
    assert not NotificationTarget.objects.exists()

    answer = browser.post(
        "/api/notifications/", {"url": "not a url", "events": [notify.JOB_FAILED]}, content_type="application/json"
    )
    assert answer.status_code == 400 and "url" in answer.json()
    assert not NotificationTarget.objects.exists()


def test_the_api_adds_edits_and_tests_urls_and_never_returns_one(browser, endpoint):
    secret = "discord://123456789/secret-webhook-token"
    answer = browser.post(
        "/api/notifications/",
        {"name": "chat", "url": secret, "events": [notify.DAEMON_ERROR]},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert "url" not in body and body["masked_url"] == "discord://…/****" and body["service"] == "Discord"
    pk = body["id"]
    bad = browser.patch(f"/api/notifications/{pk}/", {"url": "nonsense"}, content_type="application/json")
    assert bad.status_code == 400
    assert NotificationTarget.objects.get(pk=pk).url == secret
    answer = browser.patch(f"/api/notifications/{pk}/", {"url": endpoint.apprise_url}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["masked_url"] == "json://…/****"
    assert browser.post(f"/api/notifications/{pk}/test/").json() == {"sent": True}
    assert endpoint.titles() == ["Test from Stash Orchestrator"]
    assert (
        browser.post(
            "/api/notifications/", {"url": secret, "events": [], "bogus": 1}, content_type="application/json"
        ).status_code
        == 400
    )


def test_no_page_renders_a_stored_url(browser, admin_client):
    secret_url = "tgram://123456789:SECRETTOKENabcdefghij/4242"
    row = NotificationTarget.objects.create(
        name="tg", url=secret_url, events=[notify.JOB_FAILED], masked_url="tgram://…/****"
    )
    notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
    for client, path in (
        (browser, "/settings/notifications/"),
        (browser, f"/settings/notifications/{row.pk}/"),
        (browser, "/api/notifications/"),
        (browser, f"/api/notifications/{row.pk}/"),
        (browser, "/api/notifications/outbox/"),
        (admin_client, f"/admin/health/notificationtarget/{row.pk}/change/"),
        (admin_client, "/admin/health/notificationtarget/"),
    ):
        text = client.get(path).content.decode()
        assert "SECRETTOKEN" not in text, path
    assert "tgram://…/****" in browser.get("/settings/notifications/").content.decode()


def test_editing_without_a_new_url_keeps_the_stored_one(browser):
    row = NotificationTarget.objects.create(name="a", url="discord://1/secret", events=[notify.JOB_FAILED])
    response = browser.post(
        f"/settings/notifications/{row.pk}/", {"name": "b", "url": "", "events": [notify.PLAN_READY]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.name == "b" and row.url == "discord://1/secret" and row.events == [notify.PLAN_READY]


def test_events_come_from_plans_and_downloads_too(endpoint):
    from stash.plans.review import add_changes, create_plan, finish_plan

    target(endpoint, notify.PLAN_READY)
    plan = create_plan("Auto Video Analysis - test", source_job_id=None)
    add_changes(
        plan, 7, [{"field": "title", "action": "set", "current_value": "a", "proposed_value": "b", "confidence": 0.9}]
    )
    finish_plan(plan)
    deliver_due()
    assert endpoint.titles() == ["Plan ready for review: Auto Video Analysis - test"]
    assert "1 proposed change wait" in endpoint.messages[0]["message"]


def test_a_crash_looping_daemon_host_sends_one_message_per_window(endpoint, processes, daemon, settings):
    """A real `rundaemon test` that raises at every iteration: every crash is an event, the rate limit
    makes it one message (the rest held back), and the loop shows in the title after three crashes."""
    from daemons import services

    target(endpoint, notify.DAEMON_ERROR)
    services.update_configuration(
        daemon,
        {"simulate_errors": True, "error_every": 1, "interval_seconds": 0.05, "launch_jobs": False},
        partial=True,
    )
    services.start(daemon)
    processes.manage("rundaemon", "test")
    wait_for(
        lambda: Notification.objects.filter(kind=notify.DAEMON_ERROR, title__contains="crash-looping").exists(),
        timeout=60,
        message="three crashes in a row",
    )
    deliver_due()
    assert len(endpoint.messages) == 1
    assert endpoint.titles()[0] in ("Daemon test crashed", "Daemon test is in error")
    assert Notification.objects.filter(status=DeliveryStatus.SUPPRESSED).count() >= 2


def test_old_finished_messages_are_purged(endpoint):
    from health.notifications.sender import purge_old

    target(endpoint, notify.JOB_FAILED)
    notify.event(notify.JOB_FAILED, "sync", "Job failed: Sync")
    deliver_due()
    notify.event(notify.JOB_FAILED, "analysis", "Job failed: Analysis")  # still pending: kept
    assert purge_old(timezone.now() + timedelta(days=31)) == 1
    assert list(Notification.objects.values_list("status", flat=True)) == [DeliveryStatus.PENDING]


def test_imported_downloads_are_notified_once_per_run(endpoint, tmp_path):
    """process_downloads against a real qbittorrent-nox: files placed → one "downloads imported"."""
    from tests.conftest import free_port
    from tests.qbittorrent import BINARY, QBittorrent, configure
    from tests.stash.downloads.test_processing import process, write

    if not os.path.exists(BINARY):
        pytest.skip("qbittorrent-nox is not installed")
    qb = QBittorrent(tmp_path / "qbt", free_port()).start()
    try:
        target(endpoint, notify.DOWNLOADS_IMPORTED)
        write(qb.downloads / "Show" / "e01.mkv")
        write(qb.downloads / "Show" / "e02.mkv")
        qb.add_local(qb.downloads / "Show", category="xxx")
        configure(qb, tmp_path / "library")
        qb.settle()
        assert process()["total_files_linked"] == 2
        process()  # nothing new: no message
    finally:
        qb.stop()
    deliver_due()
    assert endpoint.titles() == ["Imported 2 files from 1 download"]
    assert endpoint.messages[0]["message"] == "Show"
