"""The health page, its Check now button, the banner on every page, the API and the admin; the banner in
Chromium against a real daphne."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from health.checks import REGISTRY
from health.loop import due_checks
from health.models import CheckState, HealthCheck
from health.runner import run_check
from tests.health.test_checks import restart
from tests.orchestrator.test_browser import log_in
from tests.orchestrator.test_browser import page as page  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def failing(name="stash", reason="Cannot reach Stash at http://x: connection refused.", fix="Start Stash."):
    now = timezone.now()
    return HealthCheck.objects.update_or_create(
        name=name,
        defaults={
            "state": CheckState.ERROR,
            "reason": reason,
            "fix": fix,
            "since": now,
            "first_failed_at": now,
            "last_run_at": now,
        },
    )[0]


def test_the_page_lists_every_check_with_its_state_reason_fix_and_times(browser):
    failing()
    html = browser.get("/health/").content.decode()
    for name in REGISTRY:
        assert f'id="check-{name}"' in html
    assert "Cannot reach Stash at http://x" in html and "<strong>Fix:</strong> Start Stash." in html
    assert "Failing since" in html and "Not checked yet" in html
    assert 'href="/health/"' in html  # the nav link


def test_check_now_runs_the_check_and_shows_its_result(browser, stash_emulator):
    response = browser.post("/health/stash/check/")
    assert response.status_code == 302 and response["Location"] == "/health/#check-stash"
    row = HealthCheck.objects.get(name="stash")
    assert row.state == CheckState.OK and row.last_run_at is not None
    assert "Stash: Stash v0.30.1" in browser.get("/health/").content.decode()
    assert browser.post("/health/nope/check/").status_code == 404
    assert browser.get("/health/stash/check/").status_code == 405


def test_the_banner_shows_on_every_page_while_a_check_is_in_error(browser, admin_client):
    for path in ("/daemons/", "/jobs/", "/settings/"):
        assert "data-health-banner" not in browser.get(path).content.decode()
    row = failing()
    for path in ("/daemons/", "/jobs/", "/scenes/", "/settings/", "/health/"):
        html = browser.get(path).content.decode()
        assert "1 health check failing:" in html and "Stash — Cannot reach Stash" in html, path
    assert "1 health check failing" in admin_client.get("/admin/").content.decode()
    row.state = CheckState.WARNING
    row.save()
    assert "data-health-banner" not in browser.get("/daemons/").content.decode()


def test_the_page_says_when_the_health_loop_does_not_run(browser):
    assert "does not seem to run" in browser.get("/health/").content.decode()
    for name in REGISTRY:
        HealthCheck.objects.create(name=name, state=CheckState.OK, reason="fine", last_run_at=timezone.now())
    assert "does not seem to run" not in browser.get("/health/").content.decode()


def test_the_api_lists_checks_and_requests_one(browser):
    from django.test import Client

    failing()
    body = browser.get("/api/health/").json()
    assert body["state"] == "error" and [c["name"] for c in body["checks"]] == list(REGISTRY)
    stash = body["checks"][0]
    assert stash["reason"].startswith("Cannot reach Stash") and stash["fix"] == "Start Stash." and stash["since"]
    assert browser.get("/api/health/stash/").json()["state"] == "error"
    assert browser.get("/api/health/nope/").status_code == 404

    for name in REGISTRY:
        HealthCheck.objects.update_or_create(name=name, defaults={"last_run_at": timezone.now()})
    assert due_checks() == []
    answer = browser.post("/api/health/stash/check/")
    assert answer.status_code == 202 and answer.json()["requested_at"]
    assert due_checks() == ["stash"]  # the loop runs it next
    anonymous = Client()
    assert anonymous.get("/api/health/").status_code in (401, 403)
    assert anonymous.get("/health/").status_code == 302


def test_the_admin_lists_check_results(admin_client):
    run_check("database")
    html = admin_client.get("/admin/health/healthcheck/").content.decode()
    assert "database" in html and "every migration applied" in html


# --- Chromium -------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.processes
def open_with_every_check_ok(page, daphne_server, path: str):
    """Signed in, Stash's check ok, `path` open with its live socket up and no banner."""
    log_in(page, daphne_server)
    assert run_check("stash").state == CheckState.OK
    page.goto(daphne_server + path)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected")
    expect(page.locator("[data-health-banner]")).to_have_count(0)


def test_the_banner_appears_and_clears_in_chromium(stash_emulator, daphne_server, user, page):
    open_with_every_check_ok(page, daphne_server, "/daemons/")
    stash_emulator.server.stop()
    assert run_check("stash").state == CheckState.ERROR
    page.goto(daphne_server + "/daemons/")
    banner = page.locator("[data-health-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 health check failing")
    expect(banner).to_contain_text("Cannot reach Stash")
    banner.get_by_role("link").click()
    page.wait_for_url("**/health/")
    expect(page.locator("#check-stash .health-state")).to_have_text("Error")

    restart(stash_emulator)
    page.locator("#check-stash").get_by_role("button", name="Check now").click()
    page.wait_for_url("**/health/#check-stash")
    expect(page.locator("#check-stash .health-state")).to_have_text("OK")
    expect(page.locator("[data-health-banner]")).to_have_count(0)
    page.goto(daphne_server + "/jobs/")
    expect(page.locator("[data-health-banner]")).to_have_count(0)


@pytest.mark.browser
@pytest.mark.processes
def test_the_banner_follows_the_checks_live_on_an_open_page(stash_emulator, daphne_server, user, page):
    # No reload: the stored result is pushed to every signed-in page (health/live.py).
    open_with_every_check_ok(page, daphne_server, "/jobs/")
    stash_emulator.server.stop()
    assert run_check("stash").state == CheckState.ERROR
    banner = page.locator("[data-health-banner]")
    expect(banner).to_contain_text("1 health check failing", timeout=5000)
    expect(banner).to_contain_text("Cannot reach Stash")

    restart(stash_emulator)
    assert run_check("stash").state == CheckState.OK
    expect(page.locator("[data-health-banner]")).to_have_count(0, timeout=5000)
    assert page.url.endswith("/jobs/")  # the same page all along
