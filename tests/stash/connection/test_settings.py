"""Stash settings: the Settings page, the admin and the API, validation and the reachability check,
secrets never rendered back, environment precedence, demo mode, and path translation."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape

from stash.connection import config
from stash.connection.models import StashSettings
from stash.connection.paths import PathMapper
from stash.connection.validation import clean_path_mappings, clean_scan_paths, clean_url
from tests.conftest import free_port

SECRET = "s3cret-api-key-0123456789-WXYZ"
ENV_NAMES = ("STASH_URL", "STASH_API_KEY", "STASH_DEMO_URL", "STASH_DEMO_API_KEY")
BANNER = "Demo mode: built-in Stash emulator"


class FakeStash(ThreadingHTTPServer):
    """Just enough of Stash over real HTTP: answers the Version query, optionally behind an API key."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.required_key = ""
        self.requests = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
        if self.server.required_key and self.headers.get("ApiKey") != self.server.required_key:
            return self._answer(401, b"Unauthorized", "text/plain")
        if payload.get("operationName") != "Version":
            return self._answer(422, json.dumps({"errors": [{"message": "unsupported"}]}).encode())
        data = {"data": {"version": {"version": "v0.28.1", "hash": "f00dcafe", "build_time": "2025-06-01"}}}
        return self._answer(200, json.dumps(data).encode())

    def _answer(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stash_server():
    server = FakeStash()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_stash_environment(monkeypatch, settings):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings.STASH_URL = settings.STASH_API_KEY = ""


@pytest.fixture
def staff(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def form_data(**overrides):
    data = {
        "url": "",
        "api_key": "",
        "path_mappings": "",
        "scan_paths": "",
        "connect_timeout": "5",
        "read_timeout": "30",
        "preview_preset": "ultrafast",
    }
    data.update(overrides)
    return data


def saved(url="", api_key="", **fields):
    row = StashSettings(url=url, api_key=api_key, **fields)
    row.save()
    return row


def page_text(response) -> str:
    return response.content.decode()


# --- the page -------------------------------------------------------------------------------------------


def test_the_settings_page_requires_login(client, transactional_db):
    response = client.get("/settings/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert client.post("/settings/test/").status_code == 302


def test_the_nav_links_to_settings(browser):
    assert 'href="/settings/"' in page_text(browser.get("/daemons/"))


def test_it_saves_valid_settings_after_asking_stash_for_its_version(browser, stash_server):
    stash_server.required_key = SECRET
    response = browser.post(
        "/settings/",
        form_data(
            url=stash_server.url + "/graphql",  # the pasted endpoint is trimmed to the base URL
            api_key=SECRET,
            path_mappings="/srv/library/ -> /data\n\n/mnt/extra -> /extra",
            scan_paths="/srv/library/new\n",
            connect_timeout="2.5",
            read_timeout="45",
            preview_preset="veryfast",
        ),
    )
    assert response.status_code == 302 and response.url == "/settings/"
    row = StashSettings.objects.get()
    assert row.url == stash_server.url
    assert row.api_key == SECRET
    assert row.path_mappings == [
        {"local": "/srv/library", "stash": "/data"},
        {"local": "/mnt/extra", "stash": "/extra"},
    ]
    assert row.scan_paths == ["/srv/library/new"]
    assert (row.connect_timeout, row.read_timeout, row.preview_preset) == (2.5, 45.0, "veryfast")
    (request,) = stash_server.requests
    assert request["path"] == "/graphql" and request["json"]["operationName"] == "Version"
    assert request["headers"]["ApiKey"] == SECRET
    assert "Stash settings saved." in page_text(browser.get("/settings/"))


@pytest.mark.parametrize("bad_url", ["localhost:9999", "ftp://stash.local", "http://", "stash"])
def test_an_invalid_url_is_refused_and_nothing_is_saved(browser, bad_url):
    response = browser.post("/settings/", form_data(url=bad_url))
    assert response.status_code == 400
    assert "Enter a URL with http:// or https://" in page_text(response)
    assert not StashSettings.objects.exists()


def test_an_unreachable_stash_is_refused_with_the_exact_error(browser):
    url = f"http://127.0.0.1:{free_port()}"
    response = browser.post("/settings/", form_data(url=url))
    assert response.status_code == 400
    text = page_text(response)
    assert f"Cannot reach Stash at {url}: [Errno 111] Connection refused. Nothing was saved." in text
    assert not StashSettings.objects.exists()


def test_a_rejected_api_key_is_reported_on_the_key_field(browser, stash_server):
    stash_server.required_key = SECRET
    response = browser.post("/settings/", form_data(url=stash_server.url, api_key="wrong-key"))
    assert response.status_code == 400
    assert "Stash rejected the API key" in page_text(response)
    key_block = page_text(response).split('data-setting="api_key"', 1)[1].split("</div>", 1)[0]
    assert "Stash rejected the API key" in key_block
    assert not StashSettings.objects.exists()
    response = browser.post("/settings/", form_data(url=stash_server.url))
    assert "Stash requires an API key" in page_text(response)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("connect_timeout", "0", "The connect timeout must be more than 0 seconds."),
        ("read_timeout", "-3", "The read timeout must be more than 0 seconds."),
        ("path_mappings", "srv/library -> /data", "The local path must be an absolute path"),
        ("path_mappings", "/srv/library /data", "Line 1: write LOCAL -> STASH"),
        ("path_mappings", "/a -> /data\n/b -> /data/", "stash path /data is already mapped by mapping 1"),
        ("scan_paths", "/srv/a\nrelative/b", "Scan path 2 must be an absolute path"),
        ("scan_paths", "/srv/a\n/srv/a/", "Scan path 2: /srv/a is listed twice."),
        ("preview_preset", "turbo", "Select a valid choice."),
    ],
)
def test_invalid_values_are_refused_with_a_message_on_their_field(browser, field, value, message):
    response = browser.post("/settings/", form_data(**{field: value}))
    assert response.status_code == 400
    block = page_text(response).split(f'data-setting="{field}"', 1)[1].split("</div>", 1)[0]
    assert escape(message) in block
    assert not StashSettings.objects.exists()


def test_saving_without_changing_the_connection_does_not_ask_stash(browser):
    saved(url=f"http://127.0.0.1:{free_port()}")  # unreachable right now
    response = browser.post("/settings/", form_data(url=StashSettings.load().url, scan_paths="/srv/new"))
    assert response.status_code == 302
    assert StashSettings.load().scan_paths == ["/srv/new"]


# --- the API key is never rendered back ---------------------------------------------------------------


def test_the_stored_key_is_never_rendered_and_an_empty_submit_keeps_it(browser, stash_server):
    saved(url=stash_server.url, api_key=SECRET)
    text = page_text(browser.get("/settings/"))
    assert SECRET not in text
    assert "••••WXYZ" in text
    response = browser.post("/settings/", form_data(url=stash_server.url, read_timeout="12"))
    assert response.status_code == 302
    row = StashSettings.load()
    assert (row.api_key, row.read_timeout) == (SECRET, 12.0)


def test_the_clear_checkbox_removes_the_key(browser, stash_server):
    saved(url=stash_server.url, api_key=SECRET)
    response = browser.post("/settings/", form_data(url=stash_server.url, clear_api_key="on"))
    assert response.status_code == 302
    assert StashSettings.load().api_key == ""
    assert "Clear the stored API key" not in page_text(browser.get("/settings/"))


def test_the_key_is_not_rendered_back_after_a_failed_save(browser):
    response = browser.post("/settings/", form_data(url="nope", api_key=SECRET))
    assert response.status_code == 400
    assert SECRET not in page_text(response)


def test_the_admin_never_shows_the_key_and_keeps_it_on_an_empty_submit(staff, stash_server):
    saved(url=stash_server.url, api_key=SECRET)
    assert staff.get("/admin/stash/stashsettings/").url == "/admin/stash/stashsettings/1/change/"
    page = staff.get("/admin/stash/stashsettings/1/change/")
    assert page.status_code == 200
    assert SECRET not in page_text(page)
    data = form_data(url=stash_server.url, read_timeout="20")
    response = staff.post("/admin/stash/stashsettings/1/change/", data)
    assert response.status_code == 302, page_text(response)
    row = StashSettings.load()
    assert (row.api_key, row.read_timeout) == (SECRET, 20.0)


def test_the_admin_refuses_an_unreachable_stash(staff):
    url = f"http://127.0.0.1:{free_port()}"
    response = staff.post("/admin/stash/stashsettings/add/", form_data(url=url))
    assert response.status_code == 200
    assert f"Cannot reach Stash at {url}" in page_text(response)
    assert not StashSettings.objects.exists()


# --- the environment and demo mode -----------------------------------------------------------------------


def test_environment_values_take_precedence_and_are_shown_read_only(browser, settings):
    saved(url="http://db-stash:9999", api_key="database-key-abcdef")
    settings.STASH_URL = "http://env-stash:9999"
    settings.STASH_API_KEY = "environment-key-9876"
    connection = config.effective_connection()
    assert (connection.url, connection.url_source) == ("http://env-stash:9999", "environment")
    assert (connection.api_key, connection.api_key_source) == ("environment-key-9876", "environment")
    text = page_text(browser.get("/settings/"))
    assert "set by the environment (STASH_URL)" in text
    assert "set by the environment (STASH_API_KEY)" in text
    assert "http://env-stash:9999" in text
    assert "environment-key-9876" not in text and "database-key-abcdef" not in text
    # Env-controlled fields ignore what is posted (and no reachability check runs for them).
    response = browser.post("/settings/", form_data(url="http://other:1", api_key="posted", scan_paths="/srv/x"))
    assert response.status_code == 302
    row = StashSettings.load()
    assert (row.url, row.api_key, row.scan_paths) == ("http://db-stash:9999", "database-key-abcdef", ["/srv/x"])


def test_the_database_is_used_when_the_environment_is_silent(db):
    saved(url="http://db-stash:9999", api_key="database-key")
    connection = config.effective_connection()
    assert (connection.url, connection.url_source, connection.api_key_source) == (
        "http://db-stash:9999",
        "database",
        "database",
    )
    assert not config.is_demo_mode()


def test_demo_mode_when_only_the_emulator_url_is_set(staff, monkeypatch):
    monkeypatch.setenv("STASH_DEMO_URL", "http://127.0.0.1:9998")
    connection = config.effective_connection()
    assert (connection.url, connection.url_source) == ("http://127.0.0.1:9998", "demo")
    assert config.is_demo_mode()
    for path in ("/settings/", "/daemons/", "/jobs/", "/admin/"):
        assert BANNER in page_text(staff.get(path)), path
    saved(url="http://real-stash:9999")
    assert not config.is_demo_mode()
    assert BANNER not in page_text(staff.get("/daemons/"))


def test_no_demo_banner_without_the_emulator(browser):
    assert not config.is_demo_mode()
    assert BANNER not in page_text(browser.get("/daemons/"))


# --- test connection -------------------------------------------------------------------------------------


def test_test_connection_shows_the_version_without_saving(browser, stash_server):
    response = browser.post("/settings/test/", form_data(url=stash_server.url))
    assert response.status_code == 200
    text = page_text(response)
    assert "Stash v0.28.1" in text and "f00dcafe" in text
    assert f'value="{stash_server.url}"' in text  # the form keeps the typed values
    assert not StashSettings.objects.exists()


def test_test_connection_shows_the_exact_error(browser):
    url = f"http://127.0.0.1:{free_port()}"
    response = browser.post("/settings/test/", form_data(url=url))
    assert response.status_code == 200
    assert f"Cannot reach Stash at {url}: [Errno 111] Connection refused" in page_text(response)
    assert not StashSettings.objects.exists()


def test_test_connection_uses_the_stored_key_when_none_is_typed(browser, stash_server):
    stash_server.required_key = SECRET
    saved(url=stash_server.url, api_key=SECRET)
    response = browser.post("/settings/test/", form_data(url=stash_server.url))
    assert "Stash v0.28.1" in page_text(response)
    assert SECRET not in page_text(response)


# --- the API ---------------------------------------------------------------------------------------------


def test_the_api_requires_authentication(client, transactional_db):
    assert client.get("/api/settings/stash/").status_code in (401, 403)
    assert client.post("/api/settings/stash/test/").status_code in (401, 403)


def test_the_api_reads_and_changes_settings_without_returning_the_key(browser, stash_server):
    stash_server.required_key = SECRET
    response = browser.patch(
        "/api/settings/stash/",
        {"url": stash_server.url + "/", "api_key": SECRET, "path_mappings": [{"local": "/srv/lib", "stash": "/data"}]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    body = response.json()
    assert body["url"] == stash_server.url
    assert body["api_key_set"] is True and body["api_key_hint"] == "••••WXYZ"
    assert "api_key" not in body
    assert body["effective"] == {
        "url": stash_server.url,
        "url_source": "database",
        "api_key_source": "database",
        "demo_mode": False,
    }
    got = browser.get("/api/settings/stash/")
    assert SECRET not in got.content.decode()
    assert got.json()["path_mappings"] == [{"local": "/srv/lib", "stash": "/data"}]
    # Omitting the key keeps it; null removes it.
    browser.patch("/api/settings/stash/", {"read_timeout": 11}, content_type="application/json")
    assert StashSettings.load().api_key == SECRET
    stash_server.required_key = ""
    response = browser.patch("/api/settings/stash/", {"api_key": None}, content_type="application/json")
    assert response.status_code == 200 and StashSettings.load().api_key == ""


def test_the_api_applies_the_same_validation(browser):
    response = browser.patch("/api/settings/stash/", {"url": "stash:9999"}, content_type="application/json")
    assert response.status_code == 400
    assert "Enter a URL with http:// or https://" in response.json()["url"][0]
    response = browser.patch(
        "/api/settings/stash/",
        {"connect_timeout": 0, "scan_paths": ["relative"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"connect_timeout", "scan_paths"}
    url = f"http://127.0.0.1:{free_port()}"
    response = browser.patch("/api/settings/stash/", {"url": url}, content_type="application/json")
    assert response.status_code == 400
    assert f"Cannot reach Stash at {url}" in response.json()["url"][0]
    assert not StashSettings.objects.exists()


def test_the_api_refuses_fields_the_environment_sets(browser, settings):
    settings.STASH_URL = "http://env-stash:9999"
    response = browser.patch("/api/settings/stash/", {"url": "http://other:1"}, content_type="application/json")
    assert response.status_code == 400
    assert "set by the environment (STASH_URL)" in response.json()["url"][0]


def test_the_api_takes_an_environment_field_back_unchanged(browser, settings):
    # The rule the video-analysis API and both forms follow: a client may send back what it read.
    saved(url="http://db-stash:9999")
    settings.STASH_URL = "http://env-stash:9999"
    body = {"url": "http://db-stash:9999", "read_timeout": 11}
    response = browser.patch("/api/settings/stash/", body, content_type="application/json")
    assert response.status_code == 200, response.json()
    row = StashSettings.load()
    assert (row.url, row.read_timeout) == ("http://db-stash:9999", 11.0)


def test_the_api_connection_test(browser, stash_server):
    response = browser.post("/api/settings/stash/test/", {"url": stash_server.url}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "url": stash_server.url,
        "version": "v0.28.1",
        "hash": "f00dcafe",
        "build_time": "2025-06-01",
    }
    url = f"http://127.0.0.1:{free_port()}"
    response = browser.post("/api/settings/stash/test/", {"url": url}, content_type="application/json")
    assert response.status_code == 502
    assert response.json()["detail"].startswith(f"Cannot reach Stash at {url}")
    assert browser.post("/api/settings/stash/test/", {}, content_type="application/json").status_code == 400
    response = browser.post("/api/settings/stash/test/", {"url": "ftp://x"}, content_type="application/json")
    assert response.status_code == 400
    assert not StashSettings.objects.exists()


# --- validation and paths (no HTTP) ---------------------------------------------------------------------


def test_url_cleaning():
    assert clean_url(" HTTP://Stash.local:9999/ ") == "http://Stash.local:9999"
    assert clean_url("https://example.org/stash/graphql") == "https://example.org/stash"
    assert clean_url("") == ""
    for bad in ("http://host:99999", "http://host?x=1", "mailto:me@example.org"):
        with pytest.raises(ValidationError):
            clean_url(bad)


def test_there_is_only_ever_one_settings_row(transactional_db):
    saved(url="http://a:1")
    saved(url="http://b:2")
    assert list(StashSettings.objects.values_list("pk", "url")) == [(1, "http://b:2")]


def test_path_mappings_translate_both_ways_on_component_boundaries():
    mapper = PathMapper.from_list(
        [{"local": "/srv/library", "stash": "/data"}, {"local": "/srv/library/4k", "stash": "/uhd"}]
    )
    assert mapper.to_stash("/srv/library/a/b.mp4") == "/data/a/b.mp4"
    assert mapper.to_stash("/srv/library") == "/data"
    assert mapper.to_stash("/srv/library/4k/c.mkv") == "/uhd/c.mkv"  # the longest prefix wins
    assert mapper.to_stash("/srv/library-old/x.mp4") == "/srv/library-old/x.mp4"  # not a component match
    assert mapper.to_stash("/elsewhere/x.mp4") == "/elsewhere/x.mp4"
    assert mapper.to_local("/data/a/b.mp4") == "/srv/library/a/b.mp4"
    assert mapper.to_local("/uhd/c.mkv") == "/srv/library/4k/c.mkv"
    assert mapper.to_local("/database/x.mp4") == "/database/x.mp4"


def test_path_mappings_to_the_root_and_to_windows():
    root = PathMapper.from_list([{"local": "/srv/media", "stash": "/"}])
    assert root.to_stash("/srv/media/x.mp4") == "/x.mp4"
    assert root.to_local("/x.mp4") == "/srv/media/x.mp4"
    windows = PathMapper.from_list([{"local": "/srv/media", "stash": "D:\\Media"}])
    assert windows.to_stash("/srv/media/a/b.mp4") == "D:\\Media\\a\\b.mp4"
    assert windows.to_local("D:\\Media\\a\\b.mp4") == "/srv/media/a/b.mp4"


def test_the_configured_mappings_drive_the_module_helpers(transactional_db):
    saved(path_mappings=[{"local": "/srv/library", "stash": "/data"}], scan_paths=["/srv/library/new"])
    assert config.path_mapper().to_stash("/srv/library/x.mp4") == "/data/x.mp4"
    assert config.to_local_path("/data/x.mp4") == "/srv/library/x.mp4"
    assert config.stash_scan_paths() == ["/data/new"]
    assert config.stash_scan_paths(["/srv/library/other"]) == ["/data/other"]
    StashSettings.objects.update(scan_paths=[])
    assert config.stash_scan_paths() == []  # the whole library


def test_path_list_validation():
    assert clean_path_mappings([{"local": "/a/", "stash": "C:\\Media\\"}]) == [{"local": "/a", "stash": "C:\\Media"}]
    with pytest.raises(ValidationError, match="already mapped"):
        clean_path_mappings([{"local": "/a", "stash": "/x"}, {"local": "/a/", "stash": "/y"}])
    with pytest.raises(ValidationError, match="exactly"):
        clean_path_mappings([{"local": "/a"}])
    assert clean_scan_paths(["/a/", "/b"]) == ["/a", "/b"]
    with pytest.raises(ValidationError, match="absolute"):
        clean_scan_paths(["C:\\Media"])


def test_the_mask_hides_short_keys_entirely():
    assert config.mask_key(SECRET) == "••••WXYZ"
    assert config.mask_key("short") == "••••"
    assert config.mask_key("") == ""
