"""A stored secret (Stash's API key, qBittorrent's password) goes only to the target it was saved for.

Issue 14: "Test connection" with any URL, or saving a new URL with the key left empty, sent the stored
key in `ApiKey:` to that host; the same for qBittorrent's password with a new host or port. Now a Test or
save aimed at another scheme, host or port uses a stored secret only if it is typed again."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stash.connection.config import same_target
from stash.connection.models import StashSettings
from stash.downloads.models import QBittorrentSettings
from tests.stash.connection.test_settings import SECRET, FakeStash, form_data, saved

PASSWORD = "stored-qbittorrent-password-42"


@pytest.fixture
def home():
    """The Stash the key was saved for."""
    yield from _serve(FakeStash())


@pytest.fixture
def elsewhere():
    """Some other host that would like the key."""
    yield from _serve(FakeStash())


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_stash_environment(monkeypatch, settings):
    for name in ("STASH_URL", "STASH_API_KEY", "STASH_DEMO_URL", "STASH_DEMO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings.STASH_URL = settings.STASH_API_KEY = ""


def keys_received(server) -> list:
    return [request["headers"].get("ApiKey") for request in server.requests]


def test_same_target_compares_scheme_host_and_port():
    assert same_target("http://stash:9999", "http://STASH:9999/graphql")
    assert same_target("http://stash", "http://stash:80")
    assert same_target("https://stash", "https://stash:443/x")
    assert not same_target("http://stash:9999", "http://stash:9998")
    assert not same_target("http://stash:9999", "https://stash:9999")
    assert not same_target("http://stash:9999", "http://evil:9999")
    assert not same_target("", "http://stash:9999")


# --- Stash: the API ---------------------------------------------------------------------------------------


def test_the_api_test_does_not_send_the_stored_key_to_another_url(browser, home, elsewhere):
    home.required_key = SECRET
    saved(url=home.url, api_key=SECRET)
    response = browser.post("/api/settings/stash/test/", {"url": elsewhere.url}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"api_key": ["Type the API key again to test a different URL."]}
    assert elsewhere.requests == []
    # Typed again, it goes where the user said; no key at all is also an explicit choice.
    response = browser.post(
        "/api/settings/stash/test/", {"url": elsewhere.url, "api_key": "typed-key"}, content_type="application/json"
    )
    assert response.status_code == 200
    response = browser.post(
        "/api/settings/stash/test/", {"url": elsewhere.url, "api_key": ""}, content_type="application/json"
    )
    assert response.status_code == 200
    assert keys_received(elsewhere) == ["typed-key", None]


def test_the_api_test_uses_the_stored_key_for_the_same_target(browser, home):
    home.required_key = SECRET
    saved(url=home.url, api_key=SECRET)
    for body in ({}, {"url": home.url}, {"url": home.url + "/"}):
        response = browser.post("/api/settings/stash/test/", body, content_type="application/json")
        assert response.status_code == 200, response.content
    assert keys_received(home) == [SECRET] * 3


def test_the_api_does_not_save_a_new_url_with_the_stored_key(browser, home, elsewhere):
    saved(url=home.url, api_key=SECRET)
    response = browser.patch("/api/settings/stash/", {"url": elsewhere.url}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"api_key": ["Type the API key again to save a different URL."]}
    assert elsewhere.requests == []
    assert StashSettings.load().url == home.url
    response = browser.patch(
        "/api/settings/stash/", {"url": elsewhere.url, "api_key": "new-key"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert keys_received(elsewhere) == ["new-key"]
    assert (StashSettings.load().url, StashSettings.load().api_key) == (elsewhere.url, "new-key")


# --- Stash: the page ----------------------------------------------------------------------------------------


def test_the_test_button_does_not_send_the_stored_key_to_another_url(browser, home, elsewhere):
    saved(url=home.url, api_key=SECRET)
    response = browser.post("/settings/test/", form_data(url=elsewhere.url))
    assert response.status_code == 400
    assert "Type the API key again to test a different URL." in response.content.decode()
    assert elsewhere.requests == []
    browser.post("/settings/test/", form_data(url=elsewhere.url, api_key="typed"))
    assert keys_received(elsewhere) == ["typed"]


def test_saving_a_new_url_with_an_empty_key_does_not_send_the_stored_key(browser, home, elsewhere):
    saved(url=home.url, api_key=SECRET)
    response = browser.post("/settings/", form_data(url=elsewhere.url))
    assert response.status_code == 400
    assert "Type the API key again to save a different URL." in response.content.decode()
    assert elsewhere.requests == []
    assert StashSettings.load().url == home.url
    # Ticking "clear" is saying: this Stash needs no key.
    response = browser.post("/settings/", form_data(url=elsewhere.url, clear_api_key="on"))
    assert response.status_code == 302
    assert keys_received(elsewhere) == [None]
    assert StashSettings.load().api_key == ""


def test_saving_other_fields_keeps_the_stored_key_for_the_same_stash(browser, home):
    home.required_key = SECRET
    saved(url=home.url, api_key=SECRET)
    response = browser.post("/settings/", form_data(url=home.url + "/", read_timeout="12"))
    assert response.status_code == 302
    row = StashSettings.load()
    assert (row.api_key, row.read_timeout) == (SECRET, 12.0)


# --- qBittorrent ------------------------------------------------------------------------------------------


class Recorder(ThreadingHTTPServer):
    """Any host: records what it is sent (qBittorrent's login posts the password in the body)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.bodies = []
        self.port = self.server_address[1]


class _RecordingHandler(BaseHTTPRequestHandler):
    def _any(self):
        length = int(self.headers.get("Content-Length", 0))
        self.server.bodies.append(self.rfile.read(length).decode("latin1"))
        body = b"Fails."
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _any  # noqa: N815 - the http.server API

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    yield from _serve(Recorder())


def qb_form(port, library, **overrides) -> dict:
    data = {
        "host": "127.0.0.1",
        "port": str(port),
        "username": "admin",
        "password": "",
        "category": "xxx",
        "handled_tag": "synced",
        "failed_tag": "error_syncing",
        "library_path": str(library),
        "library_stash_path": "",
        "link_mode": "hardlink",
        "min_video_seconds": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def stored_qbittorrent(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    QBittorrentSettings(host="127.0.0.1", port=1, username="admin", password=PASSWORD, library_path=str(library)).save()
    return library


@pytest.mark.parametrize("action,verb", [("/settings/qbittorrent/test/", "test"), ("/settings/qbittorrent/", "save")])
def test_qbittorrent_never_sends_the_stored_password_to_another_host_or_port(
    browser, recorder, stored_qbittorrent, action, verb
):
    response = browser.post(action, qb_form(recorder.port, stored_qbittorrent))
    assert response.status_code == 400
    assert f"Type the password again to {verb} a different host or port." in response.content.decode()
    assert not any(PASSWORD in body for body in recorder.bodies)
    assert QBittorrentSettings.load().port == 1
    # Typed again, the password goes where the user pointed.
    browser.post(action, qb_form(recorder.port, stored_qbittorrent, password="typed-again"))
    assert any("typed-again" in body for body in recorder.bodies)
    assert not any(PASSWORD in body for body in recorder.bodies)


def test_qbittorrent_keeps_the_stored_password_for_the_same_host(browser, recorder, stored_qbittorrent):
    row = QBittorrentSettings.load()
    row.port = recorder.port
    row.save()
    browser.post("/settings/qbittorrent/test/", qb_form(recorder.port, stored_qbittorrent))
    assert any(PASSWORD in body for body in recorder.bodies)
    assert json.dumps(PASSWORD) not in browser.get("/settings/qbittorrent/").content.decode()
