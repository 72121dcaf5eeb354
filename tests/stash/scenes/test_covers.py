"""Scene covers through this server: fetched from the configured Stash with its key, cached on disk (hit,
new cache-buster, size cap), a placeholder when Stash has none or is down, and no key for the browser."""

import pytest

from stash.emulator.covers import frame_jpeg
from stash.models import Scene

pytestmark = pytest.mark.django_db
KEY = "cover-test-key-0123456789"


@pytest.fixture
def covered(stash_emulator, monkeypatch, settings, tmp_path):
    """The emulator wants a key; a mirrored scene names a cover the emulator has."""
    settings.DATA_DIR = tmp_path
    stash_emulator.store.api_key = KEY
    monkeypatch.setenv("STASH_API_KEY", KEY)
    settings.STASH_API_KEY = KEY
    scene_id = next(s.id for s in stash_emulator.store.scenes.values() if s.has_cover)
    url = f"{stash_emulator.url}/scene/{scene_id}/screenshot?t=100"
    return Scene.objects.create(id=scene_id, title="Covered", screenshot_url=url), stash_emulator


def cover_files(settings) -> list:
    folder = settings.DATA_DIR / "covers"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_cover_is_fetched_once_then_served_from_the_disk_cache(browser, covered, settings):
    scene, emulator = covered
    first = browser.get(f"/scenes/{scene.pk}/cover/")
    assert first.status_code == 200 and first["X-Cover-Cache"] == "miss"
    assert first["Content-Type"] == "image/svg+xml" and b"<svg" in b"".join(first.streaming_content)
    assert len(cover_files(settings)) == 1
    emulator.server.stop()  # a hit must not need Stash
    second = browser.get(f"/scenes/{scene.pk}/cover/")
    assert second.status_code == 200 and second["X-Cover-Cache"] == "hit"
    assert second["Cache-Control"] == "private, max-age=604800"
    assert "sandbox" in second["Content-Security-Policy"] and second["X-Content-Type-Options"] == "nosniff"


def test_a_new_cache_buster_fetches_the_new_cover(browser, covered, settings):
    scene, _ = covered
    assert browser.get(f"/scenes/{scene.pk}/cover/")["X-Cover-Cache"] == "miss"
    Scene.objects.filter(pk=scene.pk).update(screenshot_url=scene.screenshot_url.replace("t=100", "t=200"))
    assert browser.get(f"/scenes/{scene.pk}/cover/")["X-Cover-Cache"] == "miss"
    assert len(cover_files(settings)) == 2


def test_stash_down_or_without_a_cover_gives_the_placeholder_and_no_cache(browser, covered, settings):
    scene, emulator = covered
    emulator.server.stop()
    down = browser.get(f"/scenes/{scene.pk}/cover/")
    assert down.status_code == 200 and down["Content-Type"] == "image/svg+xml"
    assert b"No cover" in down.content and down["Cache-Control"] == "no-cache"
    assert cover_files(settings) == []
    bare = Scene.objects.create(id=999_999, title="Bare")
    assert b"No cover" in browser.get(f"/scenes/{bare.pk}/cover/").content


def test_the_key_goes_only_to_the_configured_stash_never_to_the_browser(browser, covered):
    scene, emulator = covered
    # A mirrored value naming another host is not followed: the cover comes from the configured Stash.
    Scene.objects.filter(pk=scene.pk).update(screenshot_url=f"http://attacker.invalid/scene/{scene.pk}/screenshot?t=5")
    response = browser.get(f"/scenes/{scene.pk}/cover/")
    assert response["X-Cover-Cache"] == "miss"
    page = browser.get("/scenes/").content.decode() + browser.get(f"/scenes/{scene.pk}/").content.decode()
    assert KEY not in page and emulator.url not in page and "attacker.invalid" not in page
    assert f'src="/scenes/{scene.pk}/cover/?v=' in page and 'loading="lazy"' in page


def test_the_page_shows_a_placeholder_for_a_scene_stash_gave_no_cover(browser, db):
    Scene.objects.create(id=5, title="No picture")
    html = browser.get("/scenes/").content.decode()
    assert 'aria-label="No cover"' in html and "/scenes/5/cover/" not in html


def test_the_cache_keeps_to_its_size_cap_dropping_the_least_recently_served(browser, covered, settings):
    scene, emulator = covered
    others = [s.id for s in emulator.store.scenes.values() if s.has_cover and s.id != scene.pk][:2]
    for pk in others:
        Scene.objects.create(id=pk, screenshot_url=f"{emulator.url}/scene/{pk}/screenshot?t=1")
    browser.get(f"/scenes/{scene.pk}/cover/")
    one = (settings.DATA_DIR / "covers").iterdir().__next__().stat().st_size
    settings.COVER_CACHE_MAX_MB = (one * 2.5) / (1024 * 1024)  # room for two covers
    for pk in others:
        browser.get(f"/scenes/{pk}/cover/")
    names = cover_files(settings)
    assert len(names) == 2 and not any(name.startswith(f"{scene.pk}-") for name in names)


def test_the_emulator_serves_real_frames_of_demo_clips(demo_clips):
    clip = next(p for p in demo_clips.iterdir() if p.suffix in (".mp4", ".mkv", ".webm", ".mov"))
    image = frame_jpeg(str(clip))
    assert image is not None and image[:2] == b"\xff\xd8"  # a JPEG
    assert frame_jpeg(str(clip)) is image  # made once
