"""Every page at phone width (390 × 844) and tablet width (768 × 1024) in Chromium: the document is never
wider than the viewport (wide tables scroll inside their card), the nav stays usable, and screenshots of
the main pages at desktop and phone width are saved under data/screenshots/ for a person to look at."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import sync_playwright

from daemons import services
from daemons.models import Daemon, DaemonStatusEvent, StatusLevel
from jobs.models import Job, JobStatus
from stash.downloads.models import FileStatus, HandledDownload
from stash.models import Performer, Scene, SceneFile, Tag
from stash.plans.models import AnalysisPlan, ChangeAction, ChangeField, PlanChange
from tests.conftest import ROOT, start_daphne, wait_for
from tests.orchestrator.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.processes]
SHOTS = ROOT / "data" / "screenshots"
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def library(transactional_db):
    """A little of everything, with long names, so every page has rows to lay out."""
    services.ensure_daemon_rows()
    services.set_status(
        Daemon.objects.get(name="auto_stash_sync").pk,
        "Syncing 1,204 scenes from Stash (batch 3 of 12, 100 scenes each) — next check in 5 minutes",
        level=StatusLevel.OK,
    )
    tags = [Tag.objects.create(id=n, name=f"A rather long tag name {n}") for n in range(1, 9)]
    anna = Performer.objects.create(id=1, name="Anna Performer-With-A-Long-Name")
    for pk in range(1, 6):
        scene = Scene.objects.create(
            id=pk, title=f"A scene with a very long title that goes on and on {pk}", screenshot_url=""
        )
        scene.tags.set(tags)
        scene.performers.set([anna])
        SceneFile.objects.create(
            id=pk,
            scene=scene,
            path=f"/media/library/some/deep/folder/structure/{pk}/" + "x" * 60 + ".mp4",
            basename="x" * 60 + ".mp4",
            duration=3600,
            width=1920,
            height=1080,
        )
    failed = Job.objects.create(
        type="sync",
        status=JobStatus.FAILED,
        error="StashError: Stash answered 500 Internal Server Error\n"
        'Traceback (most recent call last):\n  File "/work/some/very/long/path/to/a/module.py", line 12\n' * 3,
        result={"scenes_synced": 10, "failed_items": 2},
        created_by="auto_stash_sync",
    )
    Job.objects.filter(pk=failed.pk).update(
        started_at=timezone.now() - timedelta(minutes=3), finished_at=timezone.now()
    )
    plan = AnalysisPlan.objects.create(name="Video analysis of 5 scenes with a long plan name")
    for pk in range(1, 6):
        PlanChange.objects.create(
            plan=plan,
            scene_id=pk,
            field=ChangeField.TAGS,
            action=ChangeAction.ADD,
            proposed_value={"name": "A proposed tag with a long name"},
            confidence=0.87,
        )
    HandledDownload.objects.create(
        torrent_hash="ab" * 20,
        torrent_name="Some.Torrent.Name.With.Many.Dots.And.No.Spaces.1080p.WEB",
        relative_path="Some.Torrent.Name/" + "y" * 80 + ".mkv",
        source_path="/downloads/" + "y" * 80,
        destination_path="/media/library/" + "y" * 80 + ".mkv",
        status=FileStatus.PLACED,
        method="hardlink",
    )
    _a_day_of_history(Daemon.objects.get(name="auto_stash_sync"))
    User.objects.create_superuser("root", password="correct-horse-battery")
    return {"job": failed, "plan": plan}


def _a_day_of_history(daemon):
    """Cycles every 20 minutes for a day (two minutes of work and a sync job, then a wait), an hour of
    Stash being unreachable in the afternoon: the timeline and the Activity page have something to draw."""
    now = timezone.now()
    events, jobs = [], []
    for n in range(72):
        at = now - timedelta(hours=24) + timedelta(minutes=20 * n)
        down = 40 <= n < 43
        kind, message = ("error", "Stash is unreachable; retrying") if down else ("working", "Syncing scenes")
        events.append(DaemonStatusEvent(daemon=daemon, at=at, kind=kind, message=message))
        events.append(
            DaemonStatusEvent(
                daemon=daemon, at=at + timedelta(minutes=2), kind="waiting", message="Next check in 18 minutes"
            )
        )
        if not down:
            jobs.append(
                Job(
                    type="sync",
                    status=JobStatus.FAILED if n % 17 == 0 else JobStatus.COMPLETED,
                    created_by=daemon.name,
                    result={"scenes_synced": 3 + n % 5},
                )
            )
            jobs[-1]._at = at
    DaemonStatusEvent.objects.bulk_create(events)
    for row in jobs:
        row.save()
        Job.objects.filter(pk=row.pk).update(
            created_at=row._at, started_at=row._at, finished_at=row._at + timedelta(seconds=70)
        )


def pages(library) -> list[str]:
    return [
        "/daemons/",
        "/daemons/auto_stash_sync/",
        "/jobs/",
        "/jobs/run/",
        f"/jobs/{library['job'].pk}/",
        "/scenes/",
        "/scenes/1/",
        "/plans/",
        f"/plans/{library['plan'].pk}/",
        "/downloads/",
        "/activity/",
        "/settings/",
        "/settings/video-analysis/",
        "/settings/qbittorrent/",
        "/api/",
        "/admin/",
        "/admin/jobs/job/",
    ]


def overflow(page) -> int:
    """How many CSS pixels the document is wider than the viewport (0: it fits)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"
    )


def log_in(page, base_url):
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "correct-horse-battery")
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/daemons/")


@pytest.fixture
def chromium(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["390px", "768px"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_is_wider_than_the_screen(daphne_server, library, chromium, viewport, scheme):
    context = chromium.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    missing = []  # a stylesheet, script, image or icon that did not load (the favicon once)
    page.on("console", lambda m: missing.append(f"{m.text} {m.location}") if "Failed to load" in m.text else None)
    page.goto(daphne_server + "/login/")
    too_wide = {"/login/": overflow(page)} if overflow(page) > 0 else {}
    log_in(page, daphne_server)
    template_text = []  # a template comment or tag that reached the page as text
    for path in pages(library):
        page.goto(daphne_server + path)
        page.wait_for_load_state("load")
        extra = overflow(page)
        if extra > 0:
            too_wide[path] = extra
        text = page.inner_text("body")
        if any(mark in text for mark in ("{#", "#}", "{%", "%}")):
            template_text.append(path)
    assert too_wide == {}, f"pages wider than {viewport['width']} px (by how many px): {too_wide}"
    assert template_text == [], f"template syntax shown as text on {template_text}"
    assert missing == []
    context.close()


@pytest.fixture
def covered_server(processes, library, stash_emulator, demo_clips):
    """A daphne whose Stash is the emulator, the mirror's scenes naming covers it makes from the demo
    clips (real frames): the Scenes screenshots show thumbnails, fetched through the cover proxy."""
    clips = sorted(demo_clips.iterdir())
    for pk in range(1, 6):
        stash_emulator.store.scenes[pk].has_cover = True
        stash_emulator.store.scenes[pk].files[0].path = str(clips[pk % len(clips)])
        Scene.objects.filter(pk=pk).update(screenshot_url=f"{stash_emulator.url}/scene/{pk}/screenshot?t=1")
    return start_daphne(processes, env={**processes.env, "STASH_URL": stash_emulator.url})


def test_the_nav_is_usable_on_a_phone_and_screenshots_are_saved(covered_server, library, chromium):
    daphne_server = covered_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "daemons": "/daemons/",
        "daemon": "/daemons/auto_stash_sync/",
        "activity": "/activity/",
        "scenes": "/scenes/",
        "failed-job": f"/jobs/{library['job'].pk}/",
    }
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        log_in(page, daphne_server)
        for name, path in shots.items():
            page.goto(daphne_server + path)
            page.wait_for_load_state("load")
            if name == "scenes":  # the covers are real images, not placeholders
                covers = page.locator("img.cover")
                assert covers.count() == 5
                # Polled from here: the page's CSP forbids the string evaluation wait_for_function uses.
                wait_for(
                    lambda covers=covers: all(
                        covers.nth(i).evaluate("i => i.complete && i.naturalWidth > 0") for i in range(5)
                    ),
                    timeout=30,
                    message="the covers to load",
                )
                # Shown at their size, not squeezed out by a table short of room.
                boxes = [covers.nth(i).bounding_box() for i in range(5)]
                assert all(round(b["width"]) == 96 and round(b["height"]) == 54 for b in boxes), (label, boxes)
            page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            # Every nav link is reachable: shown, or behind the menu button.
            page.goto(daphne_server + "/daemons/")
            toggle = page.locator("[data-nav-toggle]")
            if toggle.is_visible():
                toggle.click()
            for name in ("Daemons", "Jobs", "Scenes", "Downloads", "Plans", "Activity", "Settings", "API"):
                link = page.locator("nav.nav").get_by_role("link", name=name, exact=True)
                assert link.is_visible(), name
                box = link.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        context.close()
    assert all(Path(SHOTS / f"{n}-{v}.png").stat().st_size > 1000 for n in shots for v in ("desktop", "phone"))
