"""Serving beyond localhost: PROXY_HEADERS (trust a reverse proxy's X-Forwarded-*) and SECURE_COOKIES."""

import importlib

import pytest

import orchestrator.settings as project_settings
from orchestrator.management.commands.runstack import daphne_args


@pytest.fixture
def reload_settings(monkeypatch):
    def reload(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(project_settings)

    yield reload
    monkeypatch.delenv("PROXY_HEADERS", raising=False)
    monkeypatch.delenv("SECURE_COOKIES", raising=False)
    importlib.reload(project_settings)


def test_by_default_no_forwarded_header_is_trusted(reload_settings, settings):
    reloaded = reload_settings()
    assert not hasattr(reloaded, "SECURE_PROXY_SSL_HEADER")
    assert reloaded.SESSION_COOKIE_SECURE is False and reloaded.CSRF_COOKIE_SECURE is False
    settings.PROXY_HEADERS = False
    assert "--proxy-headers" not in daphne_args("127.0.0.1", 8000)


def test_behind_a_proxy_its_scheme_and_client_address_are_trusted(reload_settings, settings):
    reloaded = reload_settings(PROXY_HEADERS="true", SECURE_COOKIES="true")
    assert reloaded.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert reloaded.SESSION_COOKIE_SECURE is True and reloaded.CSRF_COOKIE_SECURE is True
    settings.PROXY_HEADERS = True
    assert daphne_args("127.0.0.1", 8000) == [
        "--bind",
        "127.0.0.1",
        "--port",
        "8000",
        "--proxy-headers",
        "orchestrator.asgi:application",
    ]


def test_https_behind_the_proxy_is_seen_as_https(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/login/", headers={"x-forwarded-proto": "https"})
    assert response.wsgi_request.is_secure()
