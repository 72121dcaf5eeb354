"""The live pages in the system Chromium (Playwright), against real daphne, Redis and daemon hosts."""

import re
import sys

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from daemons import services
from daemons.models import Daemon, JobAction
from jobs.services import create_job
from tests.conftest import free_port, wait_for
from tests.orchestrator.test_redis_outage import OwnRedis

pytestmark = [pytest.mark.browser, pytest.mark.processes]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still
    # plain synchronous calls between browser steps, which is what this flag allows.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def log_in(page, base_url):
    page.goto(base_url + "/daemons/")
    assert "/login/" in page.url  # anonymous visitors are sent to the login page
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct-horse-battery")
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/daemons/")


def watch_status(page, name):
    """Record every text the daemon's status shows from now on; a reload would wipe the record."""
    page.evaluate(
        """(name) => {
        window.__seen = [];
        const box = document.querySelector(`[data-daemon-status="${name}"]`);
        new MutationObserver(() => window.__seen.push(box.innerText)).observe(
            box, {childList: true, subtree: true, characterData: true});
    }""",
        name,
    )


def wait_for_live_changes(page):
    """Both statuses of a Test daemon iteration arrived, and at least three distinct texts were shown."""
    page.wait_for_function(
        """() => window.__seen.some(t => t.includes('Iteration'))
              && window.__seen.some(t => t.includes('Sleeping for 0.3 seconds'))
              && new Set(window.__seen).size >= 3""",
        timeout=20_000,
    )


def fast_test_daemon():
    services.update_configuration(
        Daemon.objects.get(name="test"), {"interval_seconds": 0.3, "launch_jobs": False}, partial=True
    )


def test_starting_the_test_daemon_shows_its_status_changing_without_reload(daphne_server, processes, user, page):
    fast_test_daemon()
    processes.manage("rundaemon", "test")
    log_in(page, daphne_server)
    card = page.locator('[data-daemon="test"]')
    expect(card).to_contain_text("Daemon stopped")

    card.get_by_role("button", name="Start").click()
    page.wait_for_url("**/daemons/")
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected", timeout=10_000)
    watch_status(page, "test")
    wait_for_live_changes(page)
    expect(card).to_have_attribute("data-actual-state", "running")

    card.get_by_role("button", name="Stop").click()
    page.wait_for_url("**/daemons/")
    expect(page.locator('[data-daemon="test"]')).to_contain_text("Daemon stopped", timeout=10_000)


def test_new_log_lines_and_history_entries_appear_live_as_the_page_renders_them(daphne_server, user, page):
    daemon = Daemon.objects.get(name="test")
    log_in(page, daphne_server)
    page.goto(daphne_server + "/daemons/test/?level=INFO")
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected", timeout=10_000)

    services.add_log(daemon, "DEBUG", "too quiet for this filter")
    services.add_log(daemon, "WARNING", "<b>shown as text</b>")
    job = create_job("test", {"steps": 1})
    services.add_job_history(daemon, job, JobAction.LAUNCHED, "for the test")

    log_rows = page.locator('[data-log-tail="test"] tr[data-log-id]')
    expect(log_rows).to_have_count(1)
    expect(log_rows.first.locator("pre")).to_have_text("<b>shown as text</b>")
    history_rows = page.locator('[data-job-history="test"] tr[data-entry-id]')
    expect(history_rows).to_have_count(1)
    expect(history_rows.first.locator(f'a[href="/jobs/{job.pk}/"]')).to_have_text(str(job.pk)[:8])
    pushed = [rows.first.evaluate("row => row.outerHTML") for rows in (log_rows, history_rows)]

    page.reload()
    assert [rows.first.evaluate("row => row.outerHTML") for rows in (log_rows, history_rows)] == pushed


def test_the_page_says_when_live_updates_are_down_and_recovers(processes, user, page):
    redis_server = OwnRedis(processes)
    redis_server.start()
    processes.env = {**processes.env, "REDIS_URL": redis_server.url}
    port = free_port()
    processes.start(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "orchestrator.asgi:application"]
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base_url), timeout=30, message="daphne")
    fast_test_daemon()
    services.start(Daemon.objects.get(name="test"))
    processes.manage("rundaemon", "test")

    log_in(page, base_url)
    body = page.locator("body")
    expect(body).to_have_attribute("data-live-state", "connected", timeout=10_000)
    banner = page.locator("[data-live-banner]")
    expect(banner).to_be_hidden()

    redis_server.kill()
    expect(body).to_have_attribute("data-live-state", "down", timeout=30_000)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Live updates are down")

    redis_server.start()
    expect(body).to_have_attribute("data-live-state", "connected", timeout=30_000)
    expect(banner).to_be_hidden()
    watch_status(page, "test")
    wait_for_live_changes(page)


def _answers(url):
    try:
        return requests.get(url + "/login/", timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to answer under load
        return False


def test_a_card_counts_down_to_its_next_check_and_shows_its_job_progressing(daphne_server, processes, user, page):
    services.update_configuration(
        Daemon.objects.get(name="test"),
        {"interval_seconds": 45, "launch_jobs": True, "job_every": 0, "job_steps": 6, "job_step_seconds": 0.5},
        partial=True,
    )
    log_in(page, daphne_server)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected", timeout=10_000)
    page.evaluate(
        """() => {
        window.__progress = [];
        const slot = document.querySelector('[data-daemon-job="test"]');
        new MutationObserver(() => { if (!slot.hidden) window.__progress.push(slot.innerText); }).observe(
            slot, {childList: true, subtree: true, characterData: true, attributes: true});
    }"""
    )
    processes.manage("runjobs")
    processes.manage("rundaemon", "test")
    services.start(Daemon.objects.get(name="test"))

    # The job the status links to moves on the card, pushed by the worker: several steps of 6, then done.
    page.wait_for_function(
        """() => new Set(window.__progress.filter(t => t.includes(' / 6'))).size >= 3
              && window.__progress.some(t => t.startsWith('100%'))""",
        timeout=30_000,
    )
    # Then the daemon rests 45 s: a countdown that ticks without any push, in human words.
    card = page.locator('[data-daemon="test"]')
    expect(card.locator(".status-text")).to_have_text("Sleeping for 45 seconds", timeout=15_000)
    countdown = card.locator(".next-check time[data-until]")
    expect(countdown).to_have_text(re.compile(r"^in 4\d s$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=5_000)
    expect(card.locator(".dot")).to_have_class(re.compile("dot-waiting"))
    expect(card).to_have_attribute("data-stale", "false")
    expect(card.locator('[data-daemon-job="test"]')).to_be_hidden()  # the status no longer links a job
