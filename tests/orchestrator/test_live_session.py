"""An open live socket lasts only as long as the login behind it: logout, deactivation or a password change
close it within a few seconds (the socket re-checks its session periodically and on every client message)."""

import json
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from websockets.exceptions import ConnectionClosed

from tests.conftest import start_daphne
from tests.orchestrator.test_live_ws import open_socket, read_snapshot

pytestmark = pytest.mark.processes

# The consumer's periodic check runs every LIVE_SESSION_CHECK_SECONDS (default 2): a close within this
# bound, on a loaded machine, is "within a few seconds".
CLOSE_WITHIN = 10.0


def signed_in(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}"


def closed_code(ws, timeout: float) -> int | None:
    """Read (and drop) messages until the server closes the socket; its close code, or None if still open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        except ConnectionClosed:
            return ws.protocol.close_code
    return None


def pong(ws) -> bool:
    ws.send(json.dumps({"type": "ping"}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if json.loads(ws.recv(timeout=10))["type"] == "pong":
            return True
    return False


def log_out(client, user):
    client.logout()  # deletes the session from the session store, as /logout/ does


def deactivate(client, user):
    User.objects.filter(pk=user.pk).update(is_active=False)


def change_password(client, user):
    user.set_password("a-brand-new-password")
    user.save()


@pytest.mark.parametrize("end", [log_out, deactivate, change_password], ids=lambda f: f.__name__)
def test_the_socket_closes_within_seconds_when_its_login_ends(daphne_server, user, end):
    client, cookie = signed_in(user)
    other = User.objects.create_user("bob", password="bob-password-1")
    _, other_cookie = signed_in(other)
    with (
        open_socket(daphne_server, "daemons", cookie) as ws,
        open_socket(daphne_server, "daemons", other_cookie) as bystander,
    ):
        read_snapshot(ws)
        read_snapshot(bystander)
        assert closed_code(ws, timeout=3) is None  # a valid login keeps its socket
        started = time.monotonic()
        end(client, user)
        assert closed_code(ws, timeout=CLOSE_WITHIN) == 4401
        print(f"closed {time.monotonic() - started:.1f} s after {end.__name__}")
        assert pong(bystander)  # another login's socket is untouched


@pytest.fixture
def slow_checking_daphne(processes):
    """daphne whose periodic check is an hour away: only a client message can trigger the check."""
    return start_daphne(processes, env=dict(processes.env, LIVE_SESSION_CHECK_SECONDS="3600"))


def test_a_client_message_after_logout_closes_the_socket_at_once(slow_checking_daphne, user):
    client, cookie = signed_in(user)
    with open_socket(slow_checking_daphne, "daemons", cookie) as ws:
        read_snapshot(ws)
        assert pong(ws)
        client.logout()
        ws.send(json.dumps({"type": "ping"}))
        assert closed_code(ws, timeout=CLOSE_WITHIN) == 4401


@pytest.mark.browser
def test_an_open_page_goes_to_the_login_page_when_its_session_ends(daphne_server, user, monkeypatch):
    from django.contrib.sessions.models import Session
    from playwright.sync_api import sync_playwright

    from tests.orchestrator.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            log_in(page, daphne_server)
            page.wait_for_function("() => document.body.dataset.liveState === 'connected'", timeout=20_000)
            Session.objects.all().delete()  # what logging out in another tab does to this page's session
            page.wait_for_url("**/login/**", timeout=CLOSE_WITHIN * 1000)
        finally:
            browser.close()
