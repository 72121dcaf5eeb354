"""What can go wrong when talking to Stash, as types callers can tell apart.

Every message is written for the person reading a job's error or the Settings page: it names the Stash
URL and the cause, never the API key.
"""


class StashError(Exception):
    """Base of every error the Stash client raises."""


class StashNotConfigured(StashError):
    """No Stash URL anywhere: not in the environment, not in the database, and no demo emulator."""


class StashUnreachable(StashError):
    """No answer: connection refused, unknown host, TLS failure, or a connect/read timeout."""


class StashAuthError(StashError):
    """HTTP 401/403: Stash wants an API key, or refused the one we sent."""


class StashServerError(StashError):
    """Stash answered with HTTP 5xx or 429 (after the retries an idempotent call is allowed)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class StashGraphQLError(StashError):
    """Stash understood the request and refused it: GraphQL errors in the body (HTTP 200 or 422)."""

    def __init__(self, messages: list[str], operation: str = ""):
        self.messages = list(messages) or ["(no message)"]
        self.operation = operation
        super().__init__("; ".join(self.messages))


class StashProtocolError(StashError):
    """The answer is not what a Stash GraphQL server sends: not JSON, no `data`, an unexpected status."""
