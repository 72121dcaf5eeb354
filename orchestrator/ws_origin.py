"""The WebSocket origin check: a socket is accepted only from the site's own origin (scheme, host and port
of the request itself) or one listed in CSRF_TRUSTED_ORIGINS, like Django's CSRF origin check for forms.

Channels' AllowedHostsOriginValidator compares host names only, so any page on another port of the same
host (http://localhost:9999 against a site on :8000) could open a socket with the user's cookie.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _allowed_hosts() -> list[str]:
    # Django's own default while DEBUG is on and ALLOWED_HOSTS is empty.
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def _trusted(origin: str) -> bool:
    """CSRF_TRUSTED_ORIGINS, exact or with a wildcard subdomain ("https://*.example.com"), as Django reads it."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    try:
        netloc = parts.netloc.lower()
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            continue
        pattern = urlsplit(trusted)
        if pattern.scheme == parts.scheme and is_same_domain(netloc, pattern.netloc.replace("*", "", 1)):
            return True
    return False


def origin_allowed(scope) -> bool:
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if not origin or origin == "null" or not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return origin == f"{scheme}://{host}" or _trusted(origin)


class SameOriginValidator:
    """ASGI middleware for websocket scopes: deny (403 at the handshake) unless origin_allowed()."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
