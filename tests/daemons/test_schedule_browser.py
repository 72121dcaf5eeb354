"""The schedule and pause buttons on the Daemons page, in the system Chromium, against real daphne, Redis
and a daemon host: the schedule line counts down, Run now starts a cycle at once, Pause and Resume swap
their buttons and the status says who paused it, all live."""

import re

import pytest
from playwright.sync_api import expect

from daemons import services
from daemons.models import Daemon
from tests.conftest import wait_for
from tests.orchestrator.test_browser import log_in, page  # noqa: F401 (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.processes]

HOUR = 3600


def test_run_now_pause_and_resume_from_the_dashboard(daphne_server, processes, user, page):  # noqa: F811
    services.update_configuration(
        Daemon.objects.get(name="test"), {"interval_seconds": HOUR, "launch_jobs": False}, partial=True
    )
    processes.manage("rundaemon", "test")
    services.start(Daemon.objects.get(name="test"))
    log_in(page, daphne_server)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected", timeout=10_000)
    card = page.locator('[data-daemon="test"]')
    expect(card.locator(".status-text")).to_have_text(f"Sleeping for {HOUR} seconds", timeout=20_000)
    line = card.locator("[data-schedule]")
    expect(line).to_contain_text("every 1 h")
    expect(line.locator(".next-run time[data-until]")).to_have_text(re.compile(r"^in (59 min|1 h)$"))
    expect(line).to_contain_text("last cycle")

    # Run now: a new cycle at once (the rest was an hour), shown live on the card.
    before = Daemon.objects.get(name="test").last_cycle_started_at
    card.get_by_role("button", name="Run now").click()
    page.wait_for_url("**/daemons/")
    expect(page.locator("body")).to_contain_text("Test Daemon runs now.")
    started = wait_for(
        lambda: (
            (Daemon.objects.get(name="test").last_cycle_started_at or before) > before
            and Daemon.objects.get(name="test").last_cycle_started_at
        ),
        20,
        message="a cycle after Run now",
    )
    last = page.locator('[data-daemon="test"] [data-schedule] .last-cycle time').first
    expect(last).to_have_attribute("datetime", started.isoformat(), timeout=10_000)

    card.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_url("**/daemons/")
    card = page.locator('[data-daemon="test"]')
    expect(card.locator(".status-text")).to_have_text(
        re.compile(r"^Paused since \d\d:\d\d \(by alice\)$"), timeout=10_000
    )
    expect(card).to_have_attribute("data-paused", "true")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()
    expect(card.get_by_role("button", name="Run now")).to_be_hidden()
    expect(card.locator("[data-paused-badge]")).to_be_visible()
    expect(card).to_have_attribute("data-stale", "false")

    card.get_by_role("button", name="Resume").click()
    page.wait_for_url("**/daemons/")
    card = page.locator('[data-daemon="test"]')
    expect(card).to_have_attribute("data-paused", "false")
    # The rest it was in goes on where it was: its status again, with what is left of the hour.
    expect(card.locator(".status-text")).to_have_text(f"Sleeping for {HOUR} seconds", timeout=10_000)
    expect(card.get_by_role("button", name="Pause", exact=True)).to_be_visible()
