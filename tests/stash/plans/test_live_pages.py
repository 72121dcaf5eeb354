"""The Plans and Downloads pages in the system Chromium (Playwright), updating without reload from writes
made elsewhere (the API, analysis, download processing, a new apply job), over real daphne and Redis."""

import pytest
import requests
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from jobs.services import create_job
from stash import plans
from stash.downloads.models import HandledDownload, TorrentOutcome
from tests.orchestrator.test_browser import log_in, page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.processes]

KISS = {"field": "tags", "action": "add", "proposed_value": "Kiss_AI", "confidence": 0.9}
HUG = {"field": "tags", "action": "add", "proposed_value": "Hug_AI", "confidence": 0.5}


def open_live(page, url):  # noqa: F811
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected", timeout=10_000)
    page.evaluate("window.__notReloaded = true")


def still_the_same_page(page):  # noqa: F811
    assert page.evaluate("window.__notReloaded") is True


def test_a_change_approved_through_the_api_changes_the_open_plan_page(daphne_server, user, page):  # noqa: F811
    plan = plans.create_plan("Tags from the tagger")
    plans.add_changes(plan, 1, [KISS, HUG])
    kiss = plan.changes.get(proposed_value="Kiss_AI")
    log_in(page, daphne_server)
    open_live(page, f"{daphne_server}/plans/{plan.pk}/")
    row = page.locator(f'tr[data-change="{kiss.pk}"]')
    expect(row.get_by_role("button", name="Approve")).to_be_visible()

    token = Token.objects.create(user=user).key
    response = requests.patch(
        f"{daphne_server}/api/plan-changes/{kiss.pk}/",
        json={"status": "approved"},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    expect(row).to_have_attribute("data-status", "approved")
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row.get_by_role("button", name="Approve")).to_be_hidden()
    expect(row.get_by_role("button", name="Reset")).to_be_visible()
    facts = page.locator(f'[data-plan-facts="{plan.pk}"]')
    expect(facts).to_contain_text("Reviewing")
    expect(facts).to_contain_text("1 approved")
    expect(facts).to_contain_text("1 pending")

    # An apply job started for the plan elsewhere (here: as the plan applier would) shows up with its state.
    job = create_job("apply_plan", {"plan_id": plan.pk})
    expect(page.locator(f'[data-plan-apply-jobs="{plan.pk}"] tr[data-job="{job.pk}"]')).to_contain_text("Pending")
    expect(page.locator("[data-plan-apply]")).to_be_visible()
    still_the_same_page(page)

    # The buttons kept from page load still work: the row's Reset is a real form post.
    row.get_by_role("button", name="Reset").click()
    expect(page.locator(f'tr[data-change="{kiss.pk}"]')).to_have_attribute("data-status", "pending")


def test_new_plans_appear_on_the_plans_list_and_their_counts_change(daphne_server, user, page):  # noqa: F811
    log_in(page, daphne_server)
    open_live(page, f"{daphne_server}/plans/")
    expect(page.locator(".empty-row")).to_be_visible()

    plan = plans.create_plan("Made by an analysis job")
    plans.add_changes(plan, 1, [KISS, HUG])
    row = page.locator(f'tr[data-plan="{plan.pk}"]')
    expect(row).to_contain_text("Made by an analysis job")
    expect(row.locator('[data-count="total"]')).to_have_text("2")
    expect(page.locator(".empty-row")).to_be_hidden()

    plans.review_plan(plan, "approved")
    expect(row.locator('[data-count="approved"]')).to_have_text("2")
    expect(row.locator(".badge")).to_have_text("Reviewing")
    still_the_same_page(page)


def test_handled_downloads_and_failures_appear_on_the_downloads_page(daphne_server, user, page):  # noqa: F811
    log_in(page, daphne_server)
    open_live(page, f"{daphne_server}/downloads/")
    torrent = "e" * 40
    HandledDownload.objects.create(
        torrent_hash=torrent,
        torrent_name="Holiday",
        relative_path="Clip.mp4",
        source_path="/dl/Clip.mp4",
        destination_path="/library/Holiday/Clip.mp4",
        status="placed",
        method="hardlink",
    )
    article = page.locator(f'article[data-torrent="{torrent}"]')
    expect(article).to_contain_text("/library/Holiday/Clip.mp4")

    HandledDownload.objects.create(
        torrent_hash=torrent,
        torrent_name="Holiday",
        relative_path="Extra.mp4",
        source_path="/dl/Extra.mp4",
        status="failed",
        error="No space left on the library",
    )
    TorrentOutcome.objects.create(torrent_hash=torrent, torrent_name="Holiday", outcome="failed", reason="No space")
    expect(article).to_contain_text("No space left on the library")
    expect(article.locator("h3 .tag")).to_have_text("Failed")
    expect(page.locator("article[data-torrent]")).to_have_count(1)
    still_the_same_page(page)
