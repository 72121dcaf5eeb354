"""The web server's edges against a real daphne: WebSocket origins (scheme, host and port) and static
file paths that try to leave the static folders."""

import http.client
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.orchestrator.test_live_ws import session_cookie

pytestmark = pytest.mark.processes


def try_socket(site, user, origin: str):
    url = site.replace("http", "ws", 1) + "/ws/live/?subscribe=daemons"
    headers = {"Cookie": session_cookie(user)}
    try:
        with connect(url, additional_headers=headers, origin=origin, open_timeout=10) as ws:
            ws.recv(timeout=10)
        return "open"
    except InvalidStatus as exc:
        return exc.response.status_code


def test_the_socket_accepts_only_the_sites_own_origin(daphne_server, user):
    port = urlsplit(daphne_server).port
    assert try_socket(daphne_server, user, daphne_server) == "open"
    on_localhost = f"http://localhost:{port}"
    assert try_socket(on_localhost, user, on_localhost) == "open"  # another allowed host, its own origin
    assert try_socket(on_localhost, user, daphne_server) == 403  # not this request's host
    # Same host name, another port or scheme: another site (the issue: http://localhost:9999 was accepted).
    assert try_socket(daphne_server, user, f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}") == 403
    assert try_socket(daphne_server, user, f"https://127.0.0.1:{port}") == 403
    assert try_socket(daphne_server, user, "http://127.0.0.1") == 403
    assert try_socket(daphne_server, user, f"http://evil.example:{port}") == 403
    assert try_socket(daphne_server, user, "null") == 403


def test_trusted_origins_are_honoured(processes, user):
    from tests.conftest import start_daphne

    url = start_daphne(processes, env=dict(processes.env, CSRF_TRUSTED_ORIGINS="https://orchestrator.example.com"))
    # Behind a TLS proxy: the browser's origin is the public one, the Host header the proxy's.
    assert try_socket(url, user, "https://orchestrator.example.com") == "open"
    assert try_socket(url, user, "https://orchestrator.example.com:8443") == 403


def raw_get(daphne_server, path: str) -> int:
    parts = urlsplit(daphne_server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path)  # sent as written: http.client does not normalise the path
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2f..%2forchestrator%2fsettings.py",
        "/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/manage.py",
        "/static/%00",
    ],
)
def test_static_paths_leaving_the_static_folders_are_not_found_without_a_traceback(daphne_server, processes, path):
    assert raw_get(daphne_server, path) in (400, 404)
    log = processes.output(processes.procs[-1])
    assert "Traceback" not in log, log
    assert raw_get(daphne_server, "/static/css/app.css") == 200  # the handler still serves


def test_the_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/static/img/favicon.svg")
