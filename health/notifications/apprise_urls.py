"""Apprise URLs: is this one Apprise can use, what service it is, and the masked form pages show.

An Apprise URL carries its secrets in its body (a webhook token, a password, a topic): the masked form
keeps only the scheme, `discord://…/****`, and the service's name tells URLs of one kind apart from
others; a person names each URL for the rest.
"""

from dataclasses import dataclass

import apprise


class BadURL(ValueError):
    pass


@dataclass(frozen=True)
class Parsed:
    service: str
    masked: str


def parse(url: str) -> Parsed:
    """Raises BadURL with a message for the form when Apprise cannot use `url`."""
    url = (url or "").strip()
    if not url:
        raise BadURL("Enter an Apprise URL, e.g. discord://webhook_id/webhook_token or json://host:port/path.")
    if "://" not in url:
        raise BadURL("This is not an Apprise URL: it needs a scheme such as discord://, ntfy:// or json://.")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        scheme = url.split("://", 1)[0]
        raise BadURL(
            f"Apprise cannot use this URL: the scheme '{scheme}://' is unknown or the rest of the URL is "
            "incomplete (see Apprise's list of services for its exact form)."
        )
    return Parsed(service=str(plugin.service_name)[:100], masked=mask(url))


def mask(url: str) -> str:
    scheme = url.split("://", 1)[0].strip().lower()[:30]
    return f"{scheme}://…/****"
