"""Video analysis settings: the row and its validation, the environment's precedence (and its start-up
checks), the Settings page with its Test button, the admin, the API, and analysis jobs using the saved
tagger (a stand-in over real HTTP)."""

import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test import Client

from jobs.models import Job
from stash.analysis import config
from stash.analysis.models import VideoAnalysisSettings
from stash.connection.config import get_client
from stash.connection.models import StashSettings
from stash.models import Scene
from stash.sync.run import SyncOptions, SyncRun
from tests.conftest import ROOT, free_port
from tests.stash.analysis.test_analysis import run_analysis, scene_with
from tests.video_tagger import TaggerStandIn

PAGE = "/settings/video-analysis/"
TEST_URL = "/settings/video-analysis/test/"
API = "/api/settings/video-analysis/"
ENV_NAMES = list(config.ENV_VARIABLES.values())
BUILTIN_TEXT = "built-in ffprobe/ffmpeg analyzer"


@pytest.fixture(autouse=True)
def _no_environment(settings):
    """As if none of the variables were set, whatever the environment of the test run says."""
    for name in ENV_NAMES:
        setattr(settings, name, None)


@pytest.fixture
def stand_in():
    tagger = TaggerStandIn().start()
    yield tagger
    tagger.stop()


def form_data(**overrides):
    data = {
        "tagger_url": "",
        "tagger_timeout_seconds": "3700",
        "tagger_path_mappings": "",
        "frame_interval": "2",
        "max_markers": "10",
        "marker_interval_seconds": "300",
    }
    data.update(overrides)
    return data


def saved(**fields) -> VideoAnalysisSettings:
    row = VideoAnalysisSettings(**fields)
    row.save()
    return row


def stored() -> dict:
    return VideoAnalysisSettings.objects.values(*config.ENV_VARIABLES).get()


# --- the row ---------------------------------------------------------------------------------------------


def test_the_defaults_are_the_former_environment_defaults_and_loading_writes_nothing(db):
    row = VideoAnalysisSettings.load()
    assert not VideoAnalysisSettings.objects.exists()
    effective = config.effective_settings(row)
    assert (
        effective.tagger_url,
        effective.tagger_timeout_seconds,
        effective.tagger_path_mappings,
        effective.frame_interval,
        effective.max_markers,
        effective.marker_interval_seconds,
    ) == ("", 3700.0, [], 2.0, 10, 300.0)
    assert (effective.analyzer, effective.describe(), effective.from_env) == ("builtin", BUILTIN_TEXT, {})


def test_there_is_only_ever_one_row(db):
    saved(tagger_url="http://a:1")
    saved(tagger_url="http://b:2")
    assert list(VideoAnalysisSettings.objects.values_list("pk", "tagger_url")) == [(1, "http://b:2")]


def test_clean_normalises_the_url_and_the_mappings(db):
    row = VideoAnalysisSettings(
        tagger_url=" HTTP://Tagger.lan:8084/process_video/ ",
        tagger_path_mappings=[{"local": "/srv/library/", "tagger": "D:\\media\\"}],
    )
    row.full_clean()
    assert row.tagger_url == "http://Tagger.lan:8084"
    assert row.tagger_path_mappings == [{"local": "/srv/library", "tagger": "D:\\media"}]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tagger_url", "localhost:8084", "Enter a URL with http:// or https://"),
        ("tagger_url", "ftp://tagger.lan", "Enter a URL with http:// or https://"),
        ("tagger_url", "http://tagger.lan:99999", "a valid host and port"),
        ("tagger_url", "http://tagger.lan/?x=1", "without ?query or #fragment"),
        ("tagger_timeout_seconds", 0, "The tagger timeout must be at least 1 second."),
        ("frame_interval", 0.05, "The frame interval must be at least 0.1 seconds."),
        ("frame_interval", 5000, "The frame interval must be at most 3600 seconds."),
        ("marker_interval_seconds", float("inf"), "The marker interval must be a number of seconds."),
        ("max_markers", -1, "0 or more"),
        ("tagger_path_mappings", {"local": "/a"}, 'must be a list of {"local": …, "tagger": …}'),
        ("tagger_path_mappings", [{"local": "/a", "stash": "/b"}], 'must have exactly "local" and "tagger"'),
        ("tagger_path_mappings", [{"local": "srv", "tagger": "/b"}], "The local path must be an absolute path"),
        ("tagger_path_mappings", [{"local": "/a", "tagger": "media"}], "The tagger path must be an absolute path"),
        (
            "tagger_path_mappings",
            [{"local": "/a", "tagger": "/b"}, {"local": "/a/", "tagger": "/c"}],
            "local path /a is already mapped by mapping 1",
        ),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(field, value, message):
    row = VideoAnalysisSettings(**{field: value})
    with pytest.raises(ValidationError) as raised:
        row.clean()
    assert list(raised.value.message_dict) == [field]
    assert message in " ".join(raised.value.message_dict[field])


# --- the environment -------------------------------------------------------------------------------------


def test_a_variable_that_is_set_wins_over_the_saved_value(db, settings):
    saved(tagger_url="http://db-tagger:8084", frame_interval=3.0, max_markers=4)
    settings.VIDEO_TAGGER_URL = "http://env-tagger:8084"
    settings.VIDEO_ANALYSIS_MAX_MARKERS = 0
    effective = config.effective_settings()
    assert (effective.tagger_url, effective.frame_interval, effective.max_markers) == ("http://env-tagger:8084", 3.0, 0)
    assert effective.from_env == {"tagger_url": "VIDEO_TAGGER_URL", "max_markers": "VIDEO_ANALYSIS_MAX_MARKERS"}
    assert effective.describe() == "AI video tagger at http://env-tagger:8084"


def _settings_module(monkeypatch, **env) -> dict:
    """orchestrator/settings.py evaluated afresh with these variables (and none of the others) set."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "orchestrator" / "settings.py"))


def test_unset_variables_leave_the_settings_none_and_set_ones_are_read(monkeypatch):
    unset = _settings_module(monkeypatch, VIDEO_TAGGER_URL="")
    assert {name: unset[name] for name in ENV_NAMES} == dict.fromkeys(ENV_NAMES)
    given = _settings_module(
        monkeypatch,
        VIDEO_TAGGER_URL="http://tagger:8084/",
        VIDEO_TAGGER_TIMEOUT_SECONDS="60",
        VIDEO_TAGGER_PATH_MAPPINGS='[{"local": "/srv", "tagger": "/media"}]',
        VIDEO_ANALYSIS_FRAME_INTERVAL="0.5",
        VIDEO_ANALYSIS_MAX_MARKERS="0",
        VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS="30",
    )
    assert {name: given[name] for name in ENV_NAMES} == {
        "VIDEO_TAGGER_URL": "http://tagger:8084",
        "VIDEO_TAGGER_TIMEOUT_SECONDS": 60.0,
        "VIDEO_TAGGER_PATH_MAPPINGS": [{"local": "/srv", "tagger": "/media"}],
        "VIDEO_ANALYSIS_FRAME_INTERVAL": 0.5,
        "VIDEO_ANALYSIS_MAX_MARKERS": 0,
        "VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS": 30.0,
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VIDEO_TAGGER_URL", "tagger:8084", "VIDEO_TAGGER_URL must be an http:// or https:// URL"),
        ("VIDEO_TAGGER_TIMEOUT_SECONDS", "0", "VIDEO_TAGGER_TIMEOUT_SECONDS must be at least 1"),
        ("VIDEO_TAGGER_PATH_MAPPINGS", '{"local": "/srv"}', "VIDEO_TAGGER_PATH_MAPPINGS must be a JSON list"),
        ("VIDEO_TAGGER_PATH_MAPPINGS", "[", "VIDEO_TAGGER_PATH_MAPPINGS must be valid JSON"),
        ("VIDEO_ANALYSIS_FRAME_INTERVAL", "fast", "VIDEO_ANALYSIS_FRAME_INTERVAL must be a number"),
        ("VIDEO_ANALYSIS_MAX_MARKERS", "2.5", "VIDEO_ANALYSIS_MAX_MARKERS must be an integer"),
        ("VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS", "0.5", "VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS must be at least 1"),
    ],
)
def test_an_invalid_variable_stops_the_start(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        _settings_module(monkeypatch, **{name: value})


# --- the page --------------------------------------------------------------------------------------------


def test_the_page_requires_login(client, transactional_db):
    for response in (client.get(PAGE), client.post(PAGE, form_data()), client.post(TEST_URL, form_data())):
        assert response.status_code == 302 and response.url.startswith("/login/")
    assert not VideoAnalysisSettings.objects.exists()


def test_the_settings_pages_link_to_it(browser):
    for page in ("/settings/", "/settings/qbittorrent/"):
        assert f'href="{PAGE}"' in browser.get(page).text, page
    text = browser.get(PAGE).text
    assert 'href="/settings/" aria-current="page"' in text  # the nav's Settings entry


def test_the_page_shows_the_builtin_analyzer_by_default(browser):
    response = browser.get(PAGE)
    assert response.status_code == 200
    assert BUILTIN_TEXT in response.text
    assert 'name="tagger_timeout_seconds" value="3700.0"' in response.text
    assert not VideoAnalysisSettings.objects.exists()


def test_saving_valid_settings(browser):
    response = browser.post(
        PAGE,
        form_data(
            tagger_url="http://tagger.lan:8084/",
            tagger_path_mappings="/srv/library -> /media\n\n/srv/other -> /other",
            frame_interval="1.5",
            max_markers="0",
        ),
        follow=True,
    )
    assert response.status_code == 200
    assert "Video analysis settings saved; analysis jobs use the AI video tagger at http://tagger.lan:8084." in (
        response.text
    )
    assert stored() == {
        "tagger_url": "http://tagger.lan:8084",
        "tagger_timeout_seconds": 3700.0,
        "tagger_path_mappings": [
            {"local": "/srv/library", "tagger": "/media"},
            {"local": "/srv/other", "tagger": "/other"},
        ],
        "frame_interval": 1.5,
        "max_markers": 0,
        "marker_interval_seconds": 300.0,
    }
    text = browser.get(PAGE).text
    assert "AI video tagger at <code>http://tagger.lan:8084</code>" in text
    assert "/srv/library -&gt; /media\n/srv/other -&gt; /other</textarea>" in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tagger_url", "ftp://tagger.lan", "Enter a URL with http:// or https://"),
        ("tagger_timeout_seconds", "0", "The tagger timeout must be at least 1 second."),
        ("frame_interval", "often", "Enter a number."),
        ("frame_interval", "0.01", "The frame interval must be at least 0.1 seconds."),
        ("max_markers", "-1", "greater than or equal to 0"),
        ("marker_interval_seconds", "", "This field is required."),
        ("tagger_path_mappings", "/srv/library /media", "Line 1: write LOCAL -&gt; TAGGER"),
        ("tagger_path_mappings", "library -> /media", "Mapping 1: The local path must be an absolute path"),
    ],
)
def test_invalid_input_is_refused_with_the_message_and_changes_nothing(browser, field, value, message):
    saved(tagger_url="http://kept:8084")
    before = stored()
    response = browser.post(PAGE, form_data(**{"tagger_url": "http://changed:8084", "max_markers": "3", field: value}))
    assert response.status_code == 400
    assert message in response.text
    assert stored() == before


def test_a_post_without_csrf_token_is_refused(user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(PAGE, form_data(tagger_url="http://tagger.lan:8084"))
    assert response.status_code == 403
    assert not VideoAnalysisSettings.objects.exists()
    assert 'name="csrfmiddlewaretoken"' in strict.get(PAGE).text


def test_fields_the_environment_sets_are_shown_read_only_and_keep_the_saved_value(browser, settings):
    saved(tagger_url="http://db-tagger:8084")
    settings.VIDEO_TAGGER_URL = "http://env-tagger:8084"
    settings.VIDEO_TAGGER_PATH_MAPPINGS = [{"local": "/srv", "tagger": "/media"}]
    text = browser.get(PAGE).text
    assert "AI video tagger at <code>http://env-tagger:8084</code>" in text
    assert "set by the environment (VIDEO_TAGGER_URL)" in text
    assert "set by the environment (VIDEO_TAGGER_PATH_MAPPINGS)" in text
    assert 'id="id_tagger_url" value="http://env-tagger:8084" disabled' in text
    assert 'value="/srv -&gt; /media" disabled' in text
    response = browser.post(
        PAGE, form_data(tagger_url="http://posted:1", tagger_path_mappings="/a -> /b", max_markers="2")
    )
    assert response.status_code == 302
    row = VideoAnalysisSettings.load()
    assert (row.tagger_url, row.tagger_path_mappings, row.max_markers) == ("http://db-tagger:8084", [], 2)


def test_the_test_button_reports_that_the_tagger_answers_and_saves_nothing(browser, stand_in):
    response = browser.post(TEST_URL, form_data(tagger_url=stand_in.url))
    assert response.status_code == 200
    # The stand-in serves only POST /process_video/: any HTTP answer shows that the tagger is there.
    assert f"The video tagger at <code>{stand_in.url}</code> answers (HTTP 501 to <code>GET /</code>)" in response.text
    assert f'value="{stand_in.url}"' in response.text  # the form keeps the typed values
    assert not VideoAnalysisSettings.objects.exists()


def test_the_test_button_shows_the_exact_error(browser):
    url = f"http://127.0.0.1:{free_port()}"
    response = browser.post(TEST_URL, form_data(tagger_url=url))
    assert response.status_code == 200
    assert f"The video tagger at {url} is unreachable:" in response.text
    assert "Connection refused" in response.text
    response = browser.post(TEST_URL, form_data())
    assert "No tagger URL to test: enter one, or set VIDEO_TAGGER_URL" in response.text
    response = browser.post(TEST_URL, form_data(tagger_url="ftp://x"))
    assert response.status_code == 400 and "Enter a URL with http:// or https://" in response.text
    assert not VideoAnalysisSettings.objects.exists()


def test_the_test_button_uses_the_environments_url(browser, settings, stand_in):
    settings.VIDEO_TAGGER_URL = stand_in.url
    response = browser.post(TEST_URL, form_data(tagger_url="http://ignored:1"))
    assert f"The video tagger at <code>{stand_in.url}</code> answers" in response.text


def test_the_admin_uses_the_same_form(admin_client):
    assert admin_client.get("/admin/stash/videoanalysissettings/").url == "/admin/stash/videoanalysissettings/add/"
    response = admin_client.post("/admin/stash/videoanalysissettings/add/", form_data(tagger_url="ftp://x"))
    assert response.status_code == 200 and "Enter a URL with http:// or https://" in response.text
    assert not VideoAnalysisSettings.objects.exists()
    response = admin_client.post("/admin/stash/videoanalysissettings/add/", form_data(tagger_url="http://t:1/"))
    assert response.status_code == 302
    assert VideoAnalysisSettings.load().tagger_url == "http://t:1"
    assert admin_client.get("/admin/stash/videoanalysissettings/").url == "/admin/stash/videoanalysissettings/1/change/"


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_requires_authentication(client, transactional_db):
    assert client.get(API).status_code in (401, 403)
    assert client.put(API, {"max_markers": 1}, content_type="application/json").status_code in (401, 403)
    assert not VideoAnalysisSettings.objects.exists()


def test_the_api_reads_and_changes_settings(browser):
    body = browser.get(API).json()
    assert body["tagger_url"] == "" and body["max_markers"] == 10
    assert body["effective"]["analyzer"] == "builtin" and body["effective"]["description"] == BUILTIN_TEXT
    response = browser.put(
        API,
        {"tagger_url": "http://tagger.lan:8084/", "tagger_path_mappings": [{"local": "/srv", "tagger": "/media"}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tagger_url"] == "http://tagger.lan:8084"
    assert body["effective"] == {
        "analyzer": "tagger",
        "description": "AI video tagger at http://tagger.lan:8084",
        "tagger_url": "http://tagger.lan:8084",
        "tagger_timeout_seconds": 3700.0,
        "tagger_path_mappings": [{"local": "/srv", "tagger": "/media"}],
        "frame_interval": 2.0,
        "max_markers": 10,
        "marker_interval_seconds": 300.0,
        "from_environment": {},
    }
    # Fields left out keep their values; PATCH does the same.
    assert browser.patch(API, {"frame_interval": 4}, content_type="application/json").status_code == 200
    assert (stored()["tagger_url"], stored()["frame_interval"]) == ("http://tagger.lan:8084", 4.0)


def test_the_api_refuses_invalid_values_with_400_and_changes_nothing(browser):
    saved(tagger_url="http://kept:8084")
    before = stored()
    response = browser.put(
        API,
        {
            "tagger_url": "tagger:8084",
            "tagger_timeout_seconds": 0,
            "tagger_path_mappings": [{"local": "x", "tagger": "/y"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"tagger_url", "tagger_timeout_seconds", "tagger_path_mappings"}
    assert "Enter a URL with http:// or https://" in errors["tagger_url"][0]
    assert errors["tagger_timeout_seconds"] == ["The tagger timeout must be at least 1 second."]
    response = browser.put(API, {"max_markers": "many"}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"max_markers"}
    assert stored() == before


def test_the_api_refuses_changes_to_fields_the_environment_sets(browser, settings):
    settings.VIDEO_TAGGER_URL = "http://env-tagger:8084"
    response = browser.put(API, {"tagger_url": "http://other:1"}, content_type="application/json")
    assert response.status_code == 400
    assert "set by the environment (VIDEO_TAGGER_URL)" in response.json()["tagger_url"][0]
    assert not VideoAnalysisSettings.objects.exists()
    # What GET returned can be sent back as it is.
    body = browser.get(API).json()
    assert body["effective"]["from_environment"] == {"tagger_url": "VIDEO_TAGGER_URL"}
    sent = {name: body[name] for name in config.ENV_VARIABLES} | {"max_markers": 3}
    response = browser.put(API, sent, content_type="application/json")
    assert response.status_code == 200, response.content
    assert (stored()["tagger_url"], stored()["max_markers"]) == ("", 3)


# --- analysis jobs use the saved settings ----------------------------------------------------------------


@pytest.fixture
def mirror(stash_emulator, transactional_db):
    SyncRun(get_client(), SyncOptions(full=True)).run()
    return stash_emulator


def test_an_analysis_job_uses_the_saved_tagger_and_its_settings(mirror, stand_in):
    StashSettings.objects.update_or_create(
        pk=StashSettings.SINGLETON_ID, defaults={"path_mappings": [{"local": "/srv/library", "stash": "/data"}]}
    )
    saved(
        tagger_url=stand_in.url,
        tagger_path_mappings=[{"local": "/srv/library", "tagger": "/media/library"}],
        frame_interval=4.0,
    )
    scene = scene_with(path="/data/misc/holiday.mp4", width=1920, height=1080)
    job, result = run_analysis([scene.id])
    assert job.parameters["frame_interval"] is None  # not given: the settings decide when the job runs
    assert result["analyzer"] == "tagger" and result["scenes_analyzed"] == 1
    assert [(r["path"], r["json"]["path"], r["json"]["frame_interval"]) for r in stand_in.requests] == [
        ("/process_video/", "/media/library/misc/holiday.mp4", 4.0)
    ]


def test_the_environments_tagger_wins_over_the_saved_one(mirror, stand_in, settings):
    saved_tagger = TaggerStandIn().start()
    try:
        saved(tagger_url=saved_tagger.url)
        settings.VIDEO_TAGGER_URL = stand_in.url
        scene = scene_with(path="/data/misc/holiday.mp4")
        run_analysis([scene.id])
        assert (len(stand_in.requests), len(saved_tagger.requests)) == (1, 0)
    finally:
        saved_tagger.stop()


def test_a_job_keeps_the_settings_it_started_with(mirror, stand_in):
    saved(tagger_url=stand_in.url)

    def save_another_tagger(request):
        # Runs on the stand-in's thread, with a connection of its own.
        VideoAnalysisSettings.objects.update(tagger_url=f"http://127.0.0.1:{free_port()}")
        connection.close()

    stand_in.on_request = save_another_tagger
    scene_ids = list(Scene.objects.filter(files__isnull=False).distinct().values_list("id", flat=True)[:2])
    job, result = run_analysis(scene_ids)
    # The change applies to the next job, not to the rest of this one.
    assert result["scenes_analyzed"] == 2 and len(stand_in.requests) == 2
    assert VideoAnalysisSettings.load().tagger_url != stand_in.url


def test_the_job_form_leaves_an_empty_frame_interval_to_the_settings(browser):
    page = browser.get("/jobs/run/?type=analysis").text
    assert "Empty: the Video analysis settings&#x27; value." in page
    for posted, expected in (("", None), ("5", 5.0)):
        data = {"type": "analysis", "scene_ids": "1", "frame_interval": posted, "confidence_threshold": "0.7"}
        data |= {"tagger_threshold": "0.3", "create_markers": "on", "plan_name": ""}
        response = browser.post("/jobs/run/", data)
        assert response.status_code == 302, response.text
        assert Job.objects.latest("created_at").parameters["frame_interval"] == expected
