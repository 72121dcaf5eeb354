"""Content-Security-Policy: every page sends one, and every page satisfies it in Chromium (no inline
scripts, handlers or styles; the live socket, the admin and Swagger UI work under it)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from daemons.models import Daemon
from jobs.models import Job, JobStatus
from jobs.services import create_job
from stash import plans
from stash.models import Scene, SceneFile
from tests.orchestrator.test_browser import CHROMIUM, CHROMIUM_ARGS

ADMIN_PAGES = [
    "/admin/",
    "/admin/daemons/daemon/",
    "/admin/daemons/daemon/{daemon_pk}/change/",
    "/admin/jobs/job/",
    "/admin/jobs/job/{job}/change/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/auth/user/{user_pk}/change/",
    "/admin/auth/user/{user_pk}/password/",
    "/admin/axes/accessattempt/",
    "/admin/stash/scene/",
    "/admin/stash/scene/{scene}/change/",
    "/admin/stash/analysisplan/",
    "/admin/stash/analysisplan/{plan}/change/",
    "/admin/password_change/",
    "/admin/stash/stashsettings/",
    "/admin/stash/videoanalysissettings/",
    "/admin/stash/qbittorrentsettings/",
    "/admin/stash/handleddownload/",
    "/admin/daemons/daemonlog/",
]
SITE_PAGES = [
    "/daemons/",
    "/daemons/test/",
    "/jobs/",
    "/jobs/run/",
    "/jobs/run/?type=test",
    "/jobs/{job}/",
    "/scenes/",
    "/scenes/{scene}/",
    "/plans/",
    "/plans/{plan}/",
    "/downloads/",
    "/settings/",
    "/settings/video-analysis/",
    "/settings/qbittorrent/",
    "/api/docs/",
    "/api/daemons/",  # DRF's browsable API
    "/api/jobs/{job}/",
    "/api/",
    "/activity/",
    "/activity/?days=30",
    "/daemons/test/?timeline=168",
    "/no-such-page/",
]


@pytest.fixture
def site_rows(user):
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    job = create_job("test", {"steps": 4})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=40, processed_items=2, total_items=4)
    scene = Scene.objects.create(id=7, title="A scene", screenshot_url="http://127.0.0.1:1/scene/7/screenshot?t=1")
    SceneFile.objects.create(id=70, scene=scene, path="/library/a.mp4", basename="a.mp4")
    plan = plans.create_plan("Plan")
    plans.add_changes(plan, 7, [{"field": "tags", "action": "add", "current_value": None, "proposed_value": "Kiss_AI"}])
    return {
        "job": job.pk,
        "scene": scene.pk,
        "plan": plan.pk,
        "daemon_pk": Daemon.objects.get(name="test").pk,
        "user_pk": user.pk,
    }


def test_every_page_sends_the_policy(user, site_rows):
    client = Client()
    assert "default-src 'self'" in client.get("/login/")["Content-Security-Policy"]
    client.force_login(user)
    for url in SITE_PAGES + ADMIN_PAGES:
        response = client.get(url.format(**site_rows))
        policy = response.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, url
        assert "frame-ancestors 'none'" in policy, url


@pytest.mark.browser
@pytest.mark.processes
def test_no_page_violates_the_policy_in_chromium(daphne_server, user, site_rows, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            current = {"url": ""}
            page.on(
                "console",
                lambda m: (
                    violations.append(f"{current['url']}: {m.text}")
                    if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
                    else None
                ),
            )
            # The DOM event catches what the console might word differently (and attributes set later by JS).
            page.add_init_script(
                """document.addEventListener("securitypolicyviolation", (e) => {
                    (window.__csp = window.__csp || []).push(
                        `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
                    );
                });"""
            )

            def visit(url):
                current["url"] = url
                page.goto(daphne_server + url)
                page.wait_for_load_state("load")
                if url.startswith("/api/docs/"):
                    page.wait_for_selector(".swagger-ui .info", timeout=20_000)  # Swagger UI ran
                elif not url.startswith(("/login/", "/admin/", "/api/", "/no-such-page/")):
                    # The live socket connected under connect-src (the page leaves "idle"/"down").
                    page.wait_for_function(
                        "() => !document.body.dataset.liveGroups || document.body.dataset.liveState === 'connected'",
                        timeout=20_000,
                    )
                violations.extend(f"{url}: {v}" for v in page.evaluate("window.__csp || []"))

            visit("/login/")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "correct-horse-battery")
            page.press("input[name=password]", "Enter")
            page.wait_for_url("**/daemons/")
            for url in SITE_PAGES + ADMIN_PAGES:
                visit(url.format(**site_rows))
            # The progress bar got its width from the script, not from an inline style.
            visit(f"/jobs/{site_rows['job']}/")
            width = page.evaluate("getComputedStyle(document.querySelector('[data-job-progress]')).width")
            bar = page.evaluate("getComputedStyle(document.querySelector('.progress-big')).width")
            assert abs(float(width[:-2]) / float(bar[:-2]) - 0.4) < 0.02
            # The admin's login page too (a fresh, anonymous context).
            anonymous = browser.new_page()
            anonymous.on(
                "console",
                lambda m: (
                    violations.append(f"/admin/login/: {m.text}") if "Content Security Policy" in m.text else None
                ),
            )
            anonymous.goto(daphne_server + "/admin/login/")
            anonymous.wait_for_load_state("load")
        finally:
            browser.close()
    assert violations == []


@pytest.mark.browser
@pytest.mark.processes
def test_a_read_only_account_sees_its_buttons_disabled(daphne_server, site_rows, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    User.objects.create_user("viewer", password="viewer-password-1")
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(daphne_server + "/login/")
            page.fill("input[name=username]", "viewer")
            page.fill("input[name=password]", "viewer-password-1")
            page.press("input[name=password]", "Enter")
            page.wait_for_url("**/daemons/")
            card = page.locator('article[data-daemon="test"]')
            expect(card.get_by_role("button", name="Start")).to_be_disabled()
            expect(page.get_by_role("button", name="Stop all")).to_be_disabled()
            expect(page.get_by_role("button", name="Log out")).to_be_enabled()
            expect(page.locator(".read-only-banner")).to_contain_text("need a staff account")
            page.goto(daphne_server + f"/jobs/{site_rows['job']}/")
            expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
            page.goto(daphne_server + "/jobs/")
            expect(page.locator("form.filters select").first).to_be_enabled()  # filters still work
        finally:
            browser.close()
    assert violations == []
