"""The Scenes pages: login, filters, search, paging, the detail page, and the job buttons."""

import itertools
import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from jobs.models import Job
from jobs.types import REGISTRY, get_kind
from stash.models import Performer, Scene, SceneFile, SceneMarker, Studio, Tag

_file_ids = itertools.count(10_000)
_marker_ids = itertools.count(20_000)


# --- a small factory -----------------------------------------------------------------------------


def scene(pk, title="", *, paths=(), tags=(), performers=(), studio=None, **fields):
    """A mirrored scene with one SceneFile per path (the first is the primary file)."""
    row = Scene.objects.create(id=pk, title=title, studio=studio, **fields)
    for position, path in enumerate(paths):
        SceneFile.objects.create(
            id=next(_file_ids),
            scene=row,
            position=position,
            path=path,
            basename=path.rsplit("/", 1)[-1],
            size=1_610_612_736,
            duration=3723.4,
            width=1920,
            height=1080,
            video_codec="h264",
            audio_codec="aac",
            frame_rate=29.97,
            bit_rate=5_234_000,
            format="mp4",
            fingerprints={"oshash": f"os{pk}{position}", "phash": f"ph{pk}{position}", "md5": f"md5{pk}{position}"},
        )
    row.tags.set(tags)
    row.performers.set(performers)
    return row


def tag(pk, name, **fields):
    return Tag.objects.create(id=pk, name=name, **fields)


def listed(response) -> list[int]:
    """The scene ids in the table, in order."""
    return [int(pk) for pk in re.findall(r'<tr data-scene="(\d+)"', response.content.decode())]


def ensure_registered(monkeypatch, job_type):
    """Use the real job type: registered already, or (while it is being wired up) from its module."""
    if get_kind(job_type) is None:
        pytest.importorskip(f"jobs.types.{job_type}", reason=f"job type {job_type} not written yet")
        monkeypatch.setitem(REGISTRY, job_type, f"jobs.types.{job_type}.KIND")


# --- login ---------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, transactional_db):
    scene(1, "One")
    for url in ["/scenes/", "/scenes/1/", "/scenes/?generated=no&page=2"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
    response = client.post("/scenes/action/", {"action": "sync"})
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert Job.objects.count() == 0


def test_the_nav_links_to_the_scenes_page(browser):
    html = browser.get("/jobs/").content.decode()
    assert 'href="/scenes/"' in html and ">Scenes</a>" in html
    assert 'href="/scenes/" aria-current="page"' in browser.get("/scenes/").content.decode()


# --- the list ------------------------------------------------------------------------------------


def test_a_row_shows_the_scene_and_its_primary_file(browser):
    studio = Studio.objects.create(id=5, name="Acme Studio")
    anna = Performer.objects.create(id=7, name="Anna", disambiguation="II")
    tags = [tag(i, f"tag-{i:02d}") for i in range(1, 9)]
    scene(
        42,
        "Beach Day",
        paths=["/lib/beach.mp4", "/lib/beach-copy.mp4"],
        tags=tags,
        performers=[anna],
        studio=studio,
        date=date(2023, 4, 5),
        organized=True,
        generated=True,
    )
    html = browser.get("/scenes/").content.decode()
    row = html[html.index('<tr data-scene="42"') :]
    row = row[: row.index("</tr>")]
    assert 'href="/scenes/42/"' in row and "Beach Day" in row and 'title="/lib/beach.mp4"' in row
    assert "Acme Studio" in row and 'href="?studio=5"' in row
    assert "Anna (II)" in row and 'href="?performer=7"' in row
    assert "tag-01" in row and "tag-06" in row and "tag-07" not in row and "+2" in row  # the first few tags
    assert "1:02:03" in row and "1920×1080" in row and "2023-04-05" in row
    assert "✓ generated" in row and "✗ AI-tagged" in row and "✗ metadata analyzed" in row
    assert "<td>Yes</td>" in row  # organized
    assert "<strong>1</strong> scene matches" in html


def test_an_untitled_scene_is_listed_by_its_file_name(browser):
    scene(3, paths=["/lib/untitled-clip.mkv"])
    scene(4)
    html = browser.get("/scenes/").content.decode()
    assert ">untitled-clip.mkv</a>" in html and ">Scene 4</a>" in html


def test_the_count_has_thousands_separators(browser):
    Scene.objects.bulk_create(Scene(id=i) for i in range(1, 1236))
    assert "<strong>1,235</strong> scenes match" in browser.get("/scenes/").content.decode()


def test_an_empty_mirror_says_to_run_a_sync(browser):
    assert "No scenes in the mirror yet" in browser.get("/scenes/").content.decode()


@pytest.mark.parametrize("flag", ["generated", "video_analyzed", "analyzed", "organized"])
def test_it_filters_by_each_flag(browser, flag):
    scene(1, "with", **{flag: True})
    scene(2, "without")
    assert listed(browser.get(f"/scenes/?{flag}=yes")) == [1]
    assert listed(browser.get(f"/scenes/?{flag}=no")) == [2]
    assert listed(browser.get(f"/scenes/?{flag}=")) == [2, 1]
    assert listed(browser.get(f"/scenes/?{flag}=maybe")) == [2, 1]  # nonsense is ignored, not an empty page
    assert 'value="no" selected' in browser.get(f"/scenes/?{flag}=no").content.decode()


def test_flag_filters_combine(browser):
    scene(1, generated=True, video_analyzed=True)
    scene(2, generated=True)
    scene(3, video_analyzed=True)
    assert listed(browser.get("/scenes/?generated=yes&video_analyzed=no")) == [2]


def test_it_filters_by_tag_id_or_name(browser):
    outdoor, indoor = tag(1, "Outdoor"), tag(2, "Indoor")
    scene(10, tags=[outdoor])
    scene(11, tags=[indoor, outdoor])
    scene(12, tags=[indoor])
    assert listed(browser.get("/scenes/?tag=1")) == [11, 10]
    assert listed(browser.get("/scenes/?tag=outdoor")) == [11, 10]  # exact name, any case
    response = browser.get("/scenes/?tag=2")
    assert listed(response) == [12, 11]
    assert "<strong>Indoor</strong>" in response.content.decode()  # the id reads as the tag's name


def test_a_name_shared_by_two_tags_lists_each_scene_once(browser):
    first, second = tag(1, "Beach"), tag(2, "beach")
    scene(10, tags=[first, second])
    scene(11, tags=[second])
    response = browser.get("/scenes/?tag=Beach")
    assert listed(response) == [11, 10]
    assert "<strong>2</strong> scenes match" in response.content.decode()


def test_a_tag_that_does_not_exist_matches_nothing(browser):
    scene(1, tags=[tag(1, "Outdoor")])
    for value in ["999", "Nope", "99999999999999999999999", "²"]:
        response = browser.get(f"/scenes/?tag={value}")
        assert listed(response) == []
        html = response.content.decode()
        assert f"“{value}” matches nothing" in html and "No scenes match these filters." in html


def test_it_filters_by_performer_and_studio(browser):
    anna = Performer.objects.create(id=1, name="Anna")
    bea = Performer.objects.create(id=2, name="Bea")
    acme = Studio.objects.create(id=1, name="Acme")
    other = Studio.objects.create(id=2, name="Other", parent=acme)
    scene(10, performers=[anna], studio=acme)
    scene(11, performers=[anna, bea], studio=other)
    scene(12, performers=[bea])
    assert listed(browser.get("/scenes/?performer=1")) == [11, 10]
    assert listed(browser.get("/scenes/?performer=bea")) == [12, 11]
    assert listed(browser.get("/scenes/?studio=1")) == [10]
    assert listed(browser.get("/scenes/?studio=Other")) == [11]
    assert listed(browser.get("/scenes/?studio=1&performer=2")) == []
    assert listed(browser.get("/scenes/?studio=2&performer=2")) == [11]


def test_search_matches_title_or_any_file_path(browser):
    scene(1, "Sunset at the Beach", paths=["/lib/a.mp4"])
    scene(2, "Mountain", paths=["/lib/b.mp4", "/archive/BEACH-extra.mp4"])
    scene(3, "City", paths=["/lib/beach/one.mp4", "/lib/beach/two.mp4"])  # two matching files: listed once
    scene(4, "Forest", paths=["/lib/c.mp4"])
    response = browser.get("/scenes/?q=beach")
    assert listed(response) == [3, 2, 1]
    assert "<strong>3</strong> scenes match" in response.content.decode()
    assert listed(browser.get("/scenes/?q=MOUNT")) == [2]
    assert listed(browser.get("/scenes/?q=/lib/c")) == [4]
    assert listed(browser.get("/scenes/?q=nothing-like-this")) == []
    assert 'value="beach"' in response.content.decode()


def test_paging_shows_fifty_newest_first_and_keeps_filters(browser):
    Scene.objects.bulk_create([Scene(id=i, title=f"S{i}") for i in range(1, 61)])
    Scene.objects.bulk_create([Scene(id=i, title=f"G{i}", generated=True) for i in range(61, 66)])
    first = browser.get("/scenes/?generated=no&q=S")
    assert listed(first) == list(range(60, 10, -1))
    html = first.content.decode()
    assert "<strong>60</strong> scenes match" in html and "Page 1 of 2" in html
    assert 'href="?generated=no&amp;q=S&amp;page=2" rel="next"' in html
    second = browser.get("/scenes/?generated=no&q=S&page=2")
    assert listed(second) == list(range(10, 0, -1))
    assert 'href="?generated=no&amp;q=S&amp;page=1" rel="prev"' in second.content.decode()
    assert listed(browser.get("/scenes/?generated=no&q=S&page=99")) == list(range(10, 0, -1))  # clamped
    assert listed(browser.get("/scenes/?generated=no&q=S&page=x")) == list(range(60, 10, -1))


def test_chip_links_keep_the_other_filters_and_go_back_to_page_one(browser):
    Scene.objects.bulk_create([Scene(id=i) for i in range(1, 60)])
    scene(100, tags=[tag(5, "Outdoor")])
    html = browser.get("/scenes/?generated=no&page=1").content.decode()
    assert 'href="?generated=no&amp;tag=5"' in html


def test_a_page_of_fifty_scenes_takes_a_fixed_number_of_queries(browser, django_assert_max_num_queries):
    studio_parent = Studio.objects.create(id=1, name="Parent")
    studios = [Studio.objects.create(id=i, name=f"Studio {i}", parent=studio_parent) for i in range(2, 6)]
    tags = [tag(i, f"Tag {i}") for i in range(1, 21)]
    performers = [Performer.objects.create(id=i, name=f"P{i}") for i in range(1, 11)]
    for pk in range(1, 61):
        scene(
            pk,
            f"Scene {pk}",
            paths=[f"/lib/{pk}.mp4", f"/lib/{pk}-b.mp4"],
            tags=tags[pk % 10 : pk % 10 + 8],
            performers=performers[pk % 5 : pk % 5 + 3],
            studio=studios[pk % 4],
        )
    browser.get("/scenes/")  # the session and user are cached on later requests the same way
    # session + user, count, the page, then one query each for files, performers and tags, and the health
    # banner's failing checks (every page).
    with django_assert_max_num_queries(8):
        response = browser.get("/scenes/")
    assert len(listed(response)) == 50
    with django_assert_max_num_queries(9):  # one more to resolve the tag
        response = browser.get("/scenes/?tag=3&generated=no&q=scene")
    assert listed(response)


# --- the detail page -----------------------------------------------------------------------------


def test_detail_shows_every_mirrored_field_files_and_markers(browser):
    parent = Studio.objects.create(id=1, name="Big Network")
    studio = Studio.objects.create(id=2, name="Small Label", parent=parent)
    outdoor, kiss, smile = tag(1, "Outdoor"), tag(2, "Kiss"), tag(3, "Smile")
    anna = Performer.objects.create(id=7, name="Anna")
    row = scene(
        42,
        "Beach Day",
        paths=["/lib/beach.mp4", "/lib/beach-copy.mkv"],
        tags=[outdoor],
        performers=[anna],
        studio=studio,
        code="BD-001",
        details="Line one\nLine <two>",
        director="Dee Rector",
        date=date(2023, 4, 5),
        rating100=80,
        organized=True,
        urls=["https://example.com/beach", "javascript:alert(1)"],
        stash_created_at=datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC),
        stash_updated_at=datetime(2024, 6, 7, 8, 9, 10, tzinfo=UTC),
        video_analyzed=True,
    )
    marker = SceneMarker.objects.create(
        id=next(_marker_ids), scene=row, title="The kiss", seconds=75.5, end_seconds=90, primary_tag=kiss
    )
    marker.tags.set([smile])
    SceneMarker.objects.create(id=next(_marker_ids), scene=row, title="Opening", seconds=0)

    response = browser.get("/scenes/42/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Beach Day",
        "BD-001",
        "Line one<br>Line &lt;two&gt;",
        "Dee Rector",
        "2023-04-05",
        "80 / 100",
        'href="/scenes/?studio=2">Small Label</a>',
        'href="/scenes/?studio=1">Big Network</a>',
        'href="/scenes/?performer=7">Anna</a>',
        'href="/scenes/?tag=1">Outdoor</a>',
        'href="https://example.com/beach"',
        "2023-01-02 03:04:05",
        "2024-06-07 08:09:10",
        "✗ generated",
        "✓ AI-tagged",
        "What the flags mean",
        "No daemon of this version sets it",
    ]:
        assert text in html, text
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html  # shown, never a link
    # Files: primary first, human sizes and rates, every fingerprint.
    assert html.index("/lib/beach.mp4") < html.index("/lib/beach-copy.mkv")
    for text in ["1.5\xa0GB", "1:02:03", "1920×1080", "h264 / aac", "29.97 fps", "5.23 Mb/s"]:
        assert text in html, text
    for text in ["os420", "ph420", "md5420", "os421", "<dt>oshash</dt>", "<dt>phash</dt>", "<dt>md5</dt>"]:
        assert text in html, text
    # Markers in time order, with end time, primary tag and tags.
    assert html.index("Opening") < html.index("The kiss")
    assert "1:15 → 1:30" in html and ">Kiss</span>" in html and ">Smile</span>" in html


def test_detail_of_a_bare_scene_renders(browser):
    scene(5)
    html = browser.get("/scenes/5/").content.decode()
    assert "Scene 5" in html and "No files." in html and "No markers." in html


def test_detail_of_an_unknown_scene_is_404(browser):
    assert browser.get("/scenes/404/").status_code == 404
    assert browser.get("/scenes/abc/").status_code == 404


# --- the job buttons -----------------------------------------------------------------------------


ACTIONS = [
    ("sync_selected", "sync_scenes", {"scene_ids": [3, 7]}),
    ("generate_selected", "stash_generate", {"scene_ids": [3, 7]}),
    ("sync", "sync", {"full": False}),
    ("full_sync", "sync", {"full": True}),
    ("check_generation", "check_stash_generate", {}),
    ("scan", "stash_scan", {}),
]


@pytest.mark.parametrize(("action", "job_type", "expected"), ACTIONS)
def test_a_button_creates_its_job_and_opens_it(browser, monkeypatch, action, job_type, expected):
    ensure_registered(monkeypatch, job_type)
    response = browser.post("/scenes/action/?generated=no", {"action": action, "scene_ids": ["7", "3", "007"]})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.type == job_type
    # Every expected parameter as given; the type's defaults fill the rest.
    assert {key: job.parameters[key] for key in expected} == expected
    page = browser.get(response["Location"]).content.decode()
    assert "job created; a worker picks it up shortly." in page


def test_a_post_without_csrf_token_is_refused(user):
    scene(1)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    for action in ["sync", "sync_selected"]:
        response = strict.post("/scenes/action/", {"action": action, "scene_ids": ["1"]})
        assert response.status_code == 403
    assert Job.objects.count() == 0


def test_the_buttons_are_posts_with_a_csrf_token(browser):
    scene(1)
    html = browser.get("/scenes/").content.decode()
    assert html.count('action="/scenes/action/?"') == 2
    assert html.count('name="csrfmiddlewaretoken"') >= 3  # both button forms and log out
    assert browser.get("/scenes/action/").status_code == 405


@pytest.mark.parametrize("bad", [["abc"], ["1", "2.5"], ["-3"], [""], ["1e3"], ["99999999999999999999999"]])
def test_scene_ids_that_are_not_integers_are_refused(browser, bad):
    scene(1, "Kept on the page")
    scene(2, "Filtered out", generated=True)
    response = browser.post("/scenes/action/?generated=no", {"action": "sync_selected", "scene_ids": ["1", *bad]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Scene ids must be integers" in html
    assert listed(response) == [1]  # the page comes back with its filters
    assert 'value="no" selected' in html
    assert Job.objects.count() == 0


def test_selected_actions_need_a_selection(browser):
    response = browser.post("/scenes/action/", {"action": "generate_selected"})
    assert response.status_code == 400
    assert "Select at least one scene first." in response.content.decode()
    assert Job.objects.count() == 0


def test_an_unknown_action_is_refused(browser):
    response = browser.post("/scenes/action/", {"action": "delete_everything"})
    assert response.status_code == 400
    assert "Unknown action" in response.content.decode()
    assert Job.objects.count() == 0


def test_the_job_types_validation_applies(browser, monkeypatch):
    ensure_registered(monkeypatch, "sync_scenes")
    scene(1)
    response = browser.post("/scenes/action/", {"action": "sync_selected", "scene_ids": ["1", "0"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The job was not created: Invalid parameters for a sync_scenes job." in html
    assert "scene_ids: " in html
    assert 'value="1" form="scene-selection" aria-label="Select scene 1" checked' in html  # selection kept
    assert Job.objects.count() == 0


def test_an_unregistered_job_type_shows_the_error_and_creates_nothing(browser, monkeypatch):
    monkeypatch.delitem(REGISTRY, "stash_generate", raising=False)
    scene(1)
    response = browser.post("/scenes/action/", {"action": "generate_selected", "scene_ids": ["1"]})
    assert response.status_code == 400
    assert "Unknown job type &#x27;stash_generate&#x27;" in response.content.decode()
    assert Job.objects.count() == 0
