"""Login throttling (django-axes): too many wrong passwords lock that account from that address, on both
login pages, until the cool-off ends or an operator runs axes' reset commands."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

LOGIN_PAGES = ["/login/", "/admin/login/"]
ATTACKER = "10.0.0.1"
NEIGHBOUR = "10.0.0.2"


def attempt(path: str, username: str, password: str, address: str):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password, "next": "/"})
    response.logged_in = "_auth_user_id" in client.session
    return response


@pytest.fixture
def accounts(transactional_db):
    # Staff, so that the admin's login page accepts them too.
    User.objects.create_user("alice", password="alice-right-password", is_staff=True)
    User.objects.create_user("bob", password="bob-right-password", is_staff=True)


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_wrong_passwords_lock_that_account_from_that_address_until_reset(accounts, settings, path):
    limit = getattr(settings, "AXES_FAILURE_LIMIT", 5)
    for _ in range(limit - 1):
        response = attempt(path, "alice", "wrong", ATTACKER)
        assert response.status_code == 200 and not response.logged_in
    assert attempt(path, "alice", "wrong", ATTACKER).status_code == 429  # the limit-th failure locks

    locked = attempt(path, "alice", "alice-right-password", ATTACKER)
    assert not locked.logged_in
    assert locked.status_code == 429
    page = locked.content.decode()
    minutes = getattr(settings, "LOGIN_LOCKOUT_MINUTES", 15)
    assert f"Too many failed logins for this account from your address; try again in {minutes} minutes" in page
    assert 'name="username"' in page  # still the login page, not a bare error

    # The lockout is per account *and* address: the same account elsewhere, and another account here, work.
    assert attempt(path, "alice", "alice-right-password", NEIGHBOUR).logged_in
    assert attempt(path, "bob", "bob-right-password", ATTACKER).logged_in

    call_command("axes_reset_username", "alice")
    assert attempt(path, "alice", "alice-right-password", ATTACKER).logged_in


def test_axes_reset_unlocks_everyone(accounts, settings):
    for _ in range(getattr(settings, "AXES_FAILURE_LIMIT", 5)):
        attempt("/login/", "alice", "wrong", ATTACKER)
    assert not attempt("/login/", "alice", "alice-right-password", ATTACKER).logged_in
    call_command("axes_reset")
    assert attempt("/login/", "alice", "alice-right-password", ATTACKER).logged_in


def test_the_limit_and_the_lockout_come_from_the_environment(monkeypatch):
    import importlib

    import orchestrator.settings as project_settings

    monkeypatch.setenv("LOGIN_FAILURE_LIMIT", "7")
    monkeypatch.setenv("LOGIN_LOCKOUT_MINUTES", "30")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.AXES_FAILURE_LIMIT == 7
        assert reloaded.LOGIN_LOCKOUT_MINUTES == 30
        assert reloaded.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
        assert reloaded.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    finally:
        monkeypatch.delenv("LOGIN_FAILURE_LIMIT")
        monkeypatch.delenv("LOGIN_LOCKOUT_MINUTES")
        importlib.reload(project_settings)
