"""Stash: reachable, its version, the API key accepted, and how long a round trip takes."""

import time

import requests

from health.checks import Check, Result, error, ok, warning
from orchestrator.paths import stash_settings_path
from stash.connection.client import StashClient
from stash.connection.config import TEST_CONNECT_TIMEOUT, TEST_READ_TIMEOUT, effective_connection
from stash.connection.errors import StashAuthError, StashError, StashUnreachable

# Slower than this for a one-line query: Stash is overloaded (syncs and jobs will crawl).
SLOW_SECONDS = 2.0


class FreshClient(StashClient):
    """A client on a connection of its own: the process's pooled keep-alive connection could still
    answer from a Stash that no longer accepts new ones, and the round trip should include the connect."""

    @property
    def session(self) -> requests.Session:
        if not hasattr(self, "_session"):
            self._session = requests.Session()
            self._session.headers["Accept"] = "application/json"
            if self.api_key:
                self._session.headers["ApiKey"] = self.api_key
        return self._session

    def close(self):
        if hasattr(self, "_session"):
            self._session.close()


def run() -> Result:
    connection = effective_connection()
    if not connection.url:
        return error(
            "Stash is not configured: nothing can be synced, generated or scanned.",
            f"Enter Stash's URL (and API key) on the Settings page ({stash_settings_path()}) or set STASH_URL.",
        )
    client = FreshClient(
        connection.url,
        connection.api_key,
        connect_timeout=min(connection.connect_timeout, TEST_CONNECT_TIMEOUT),
        read_timeout=min(connection.read_timeout, TEST_READ_TIMEOUT),
        attempts=1,
    )
    started = time.monotonic()
    try:
        version = client.version()
    except StashAuthError as exc:
        return error(f"{exc}.", f"Copy the API key from Stash (Settings → Security) to {stash_settings_path()}.")
    except StashUnreachable as exc:
        return error(f"{exc}.", f"Start Stash, or correct its URL on {stash_settings_path()}.", url=connection.url)
    except StashError as exc:
        return error(f"Stash answered, but not as expected: {exc}", f"Check that {connection.url} is Stash's address.")
    finally:
        client.close()
    rtt_ms = round((time.monotonic() - started) * 1000)
    facts = {"url": connection.url, "version": version.get("version") or "?", "round_trip_ms": rtt_ms}
    if connection.is_demo:
        facts["demo"] = True
    if rtt_ms > SLOW_SECONDS * 1000:
        return warning(
            f"Stash {facts['version']} answers, but slowly: {rtt_ms} ms for a version query.",
            "Stash is busy or overloaded; syncs and jobs will be slow until it recovers.",
            **facts,
        )
    where = "the built-in emulator (demo mode)" if connection.is_demo else connection.url
    return ok(f"Stash {facts['version']} at {where} answers in {rtt_ms} ms; the API key is accepted.", **facts)


CHECK = Check("stash", "Stash", "Stash answers, with its version, the API key accepted and the round trip.", run)
