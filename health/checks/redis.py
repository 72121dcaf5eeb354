"""Redis, which carries live updates and wake-ups: it answers a PING, and its version."""

import redis
from django.conf import settings

from health.checks import Check, Result, error, ok

TIMEOUT_SECONDS = 2.0


def run() -> Result:
    url = settings.REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    except redis.RedisError as exc:
        return error(
            f"Redis at {_shown(url)} does not answer ({exc}): pages show no live updates and loops fall back to "
            "polling.",
            "Start Redis (make run starts its own when REDIS_URL is unset), or correct REDIS_URL.",
            url=_shown(url),
        )
    finally:
        client.close()
    return ok(f"Redis {version} at {_shown(url)} answers: live updates work.", url=_shown(url), version=version)


def _shown(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://****@{rest.rsplit('@', 1)[1]}"
    return url


CHECK = Check("redis", "Redis", "Redis answers, so pages get live updates.", run)
