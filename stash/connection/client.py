"""The Stash GraphQL client.

Calls are made by operation name (`client.execute("FindScenes", variables)`); the documents live in
stash.connection.documents. What this module promises, fixing what the prior art got wrong:

- Every call has a connect and a read timeout; nothing waits forever on a hung Stash.
- One requests.Session per (URL, API key) per process, shared by threads, so connections are reused
  and never leaked per job or per request.
- Only operations in documents.IDEMPOTENT are retried, and only when no answer came back or Stash
  answered 5xx/429. Creating things (a scan, a generate job) is sent exactly once: if its answer is lost,
  the caller hears about it instead of a second job being queued.
- Failures are typed (stash.connection.errors) and name the URL and the cause.
"""

import logging
import os
import re
import threading
import time
from collections import OrderedDict

import orjson
import requests

from orchestrator.backoff import delay as backoff_delay
from stash.connection import documents
from stash.connection.errors import (
    StashAuthError,
    StashError,
    StashGraphQLError,
    StashProtocolError,
    StashServerError,
    StashUnreachable,
)

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
RETRY_ATTEMPTS = 3
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 4.0
MAX_SESSIONS = 8

_sessions: OrderedDict = OrderedDict()
_sessions_lock = threading.Lock()
_sessions_pid = os.getpid()


def session_for(url: str, api_key: str) -> requests.Session:
    """The process's shared session for this Stash URL and key.

    A forked child starts a fresh cache (pooled sockets must not be shared with the parent). The cache
    is small and least-recently-used: the Settings page can try many URLs, and a replaced key must not
    keep its session alive forever."""
    global _sessions_pid
    key = (url, api_key)
    with _sessions_lock:
        if _sessions_pid != os.getpid():
            _sessions.clear()
            _sessions_pid = os.getpid()
        session = _sessions.get(key)
        if session is not None:
            _sessions.move_to_end(key)
            return session
        session = requests.Session()
        session.headers["Accept"] = "application/json"
        if api_key:
            session.headers["ApiKey"] = api_key
        _sessions[key] = session
        while len(_sessions) > MAX_SESSIONS:
            _, old = _sessions.popitem(last=False)
            old.close()
        return session


class _Retryable(Exception):
    """Internal: a failure after which an idempotent call may be sent again."""

    def __init__(self, error: StashError, retry_after: float | None = None):
        self.error = error
        self.retry_after = retry_after


class StashClient:
    sleep = staticmethod(time.sleep)  # replaced in tests

    def __init__(
        self,
        url: str,
        api_key: str = "",
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        attempts: int = RETRY_ATTEMPTS,
        backoff: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
    ):
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/graphql"
        self.api_key = (api_key or "").strip()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.backoff_max = backoff_max

    def __repr__(self):
        return f"<StashClient {self.url} key={'set' if self.api_key else 'none'}>"

    @property
    def session(self) -> requests.Session:
        return session_for(self.url, self.api_key)

    # --- the one entry point -------------------------------------------------------------------------

    def execute(
        self,
        operation: str,
        variables: dict | None = None,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> dict:
        """Send the named operation and return its `data`. Raises a StashError subclass on failure."""
        try:
            query = documents.DOCUMENTS[operation]
        except KeyError:
            raise ValueError(
                f"Unknown Stash operation {operation!r}: not in stash.connection.documents.DOCUMENTS"
            ) from None
        body = {"query": query, "variables": variables or {}, "operationName": operation}
        timeout = (connect_timeout or self.connect_timeout, read_timeout or self.read_timeout)
        attempts = self.attempts if operation in documents.IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._send(operation, body, timeout)
            except _Retryable as failure:
                if attempt == attempts:
                    log.warning("Stash %s failed after %d attempt(s): %s", operation, attempt, failure.error)
                    raise failure.error from failure.__cause__
                delay = backoff_delay(attempt, self.backoff, self.backoff_max)
                if failure.retry_after is not None:
                    delay = min(self.backoff_max, max(delay, failure.retry_after))
                log.warning(
                    "Stash %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    operation,
                    attempt,
                    attempts,
                    delay,
                    failure.error,
                )
                self.sleep(delay)
            except StashError as error:
                log.warning("Stash %s failed: %s", operation, error)
                raise
        raise AssertionError("unreachable")  # the loop always returns or raises

    # --- one HTTP exchange ---------------------------------------------------------------------------

    def _send(self, operation: str, body: dict, timeout: tuple[float, float]) -> dict:
        try:
            response = self.session.post(self.endpoint, json=body, timeout=timeout)
        except requests.exceptions.ConnectTimeout as exc:
            error = StashUnreachable(f"Cannot reach Stash at {self.url}: no connection within {timeout[0]:g} s")
            raise _Retryable(error) from exc
        except requests.exceptions.ReadTimeout as exc:
            error = StashUnreachable(f"Stash at {self.url} did not answer {operation} within {timeout[1]:g} s")
            raise _Retryable(error) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
            raise StashUnreachable(f"Cannot reach Stash at {self.url}: not a valid http(s) URL") from None
        except requests.exceptions.RequestException as exc:
            error = StashUnreachable(f"Cannot reach Stash at {self.url}: {_cause(exc)}")
            raise _Retryable(error) from exc
        return self._read(operation, response)

    def _read(self, operation: str, response: requests.Response) -> dict:
        status = response.status_code
        if status in (401, 403):
            raise StashAuthError(self._auth_message(status))
        if status == 429 or status >= 500:
            error = StashServerError(
                f"Stash at {self.url} answered {operation} with HTTP {status} {response.reason or ''}".rstrip()
                + _snippet(response.text, prefix=": "),
                status,
            )
            raise _Retryable(error, _retry_after(response))
        try:
            payload = _json(response)
        except ValueError:
            if status == 422:  # gqlgen's validation failures are JSON; be tolerant of a plain-text one
                raise StashGraphQLError([response.text.strip() or "HTTP 422"], operation) from None
            if 200 <= status < 300:
                raise StashProtocolError(
                    f"Stash at {self.url} answered {operation} with something that is not JSON"
                    + _snippet(response.text, prefix=": ")
                ) from None
            raise StashProtocolError(
                f"{self.url} answered HTTP {status} {response.reason or ''} and no GraphQL: is this Stash's address?"
            ) from None
        if not isinstance(payload, dict):
            raise StashProtocolError(f"Stash at {self.url} answered {operation} with JSON that is not an object")
        errors = payload.get("errors")
        if errors:
            raise StashGraphQLError(_messages(errors), operation)
        if not 200 <= status < 300:
            raise StashProtocolError(f"Stash at {self.url} answered {operation} with HTTP {status} and no errors")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise StashProtocolError(f"Stash at {self.url} answered {operation} without data")
        return data

    def _auth_message(self, status: int) -> str:
        if self.api_key:
            return f"Stash rejected the API key (HTTP {status} from {self.url})"
        return (
            f"Stash requires an API key (HTTP {status} from {self.url}): "
            "set it on the Settings page or in STASH_API_KEY"
        )

    # --- typed helpers the jobs use ----------------------------------------------------------------

    def version(self, **timeouts) -> dict:
        """{"version": "v0.28.1", "hash": "…", "build_time": "…"}"""
        return _field(self.execute("Version", **timeouts), "version", self.url)

    def library_paths(self, **timeouts) -> list[dict]:
        """Stash's library folders as Stash sees them: [{"path": "/data", "excludeVideo": False}, …]."""
        data = self.execute("LibraryPaths", **timeouts)
        general = ((data.get("configuration") or {}).get("general")) or {}
        return [s for s in general.get("stashes") or [] if isinstance(s, dict) and s.get("path")]

    def find_job(self, job_id) -> dict | None:
        """The job, or None when Stash has forgotten it (restarted, or more than 10 jobs finished since)."""
        return self.execute("FindJob", {"input": {"id": str(job_id)}}).get("findJob")

    def job_queue(self) -> list[dict]:
        return self.execute("JobQueue").get("jobQueue") or []

    def metadata_scan(self, input: dict | None = None) -> str:
        """Queue a scan; returns Stash's job id. Sent once, never retried."""
        return str(_field(self.execute("MetadataScan", {"input": input or {}}), "metadataScan", self.url))

    def metadata_generate(self, input: dict | None = None) -> str:
        """Queue a generate task; returns Stash's job id. Sent once, never retried."""
        return str(_field(self.execute("MetadataGenerate", {"input": input or {}}), "metadataGenerate", self.url))

    def stop_job(self, job_id) -> bool:
        return bool(self.execute("StopJob", {"job_id": str(job_id)}).get("stopJob"))


# --- helpers -------------------------------------------------------------------------------------------


def _json(response: requests.Response):
    """The answer's JSON. orjson reads a page of 500 scenes several times faster than the json module
    (decoding was the sync's largest single cost); anything it refuses (not UTF-8, say) gets requests'
    own decoding, so what counts as JSON, and the errors, stay requests'."""
    try:
        return orjson.loads(response.content)
    except ValueError:
        return response.json()


def _field(data: dict, name: str, url: str):
    value = data.get(name)
    if value is None:
        raise StashProtocolError(f"Stash at {url} answered without {name}")
    return value


def _messages(errors) -> list[str]:
    if not isinstance(errors, list):
        return [str(errors)]
    return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]


def _snippet(text: str, prefix: str = "", limit: int = 200) -> str:
    text = " ".join((text or "").split())
    if not text:
        return ""
    return prefix + (text if len(text) <= limit else text[:limit] + "…")


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


# urllib3 prefixes the cause with the connection object: "<…HTTPConnection object at 0x…>: " (1.x) or
# "HTTPConnection(host='…', port=…): " (2.x). The URL is already in our message.
_CONNECTION_REPR = re.compile(r"<[^<>]*? object at 0x[0-9a-f]+>:\s*|\b\w*Connection\(host=[^)]*\):\s*")


def _cause(exc: Exception) -> str:
    """The readable part of a requests/urllib3 connection error: "[Errno 111] Connection refused",
    "Failed to resolve 'stash' ([Errno -2] Name or service not known)", …"""
    reason = exc
    inner = exc.args[0] if exc.args else None
    if inner is not None and hasattr(inner, "reason") and inner.reason is not None:
        reason = inner.reason  # urllib3's MaxRetryError wraps the real error
    text = _CONNECTION_REPR.sub("", str(reason))
    text = text.replace("Failed to establish a new connection: ", "")
    return text or type(reason).__name__
