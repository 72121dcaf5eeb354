"""Rules for a notification URL's fields, shared by the form, the API and the admin."""

from django.core.exceptions import ValidationError

from health.notifications.apprise_urls import BadURL, Parsed, parse
from orchestrator.notify import EVENTS


def clean_url(url) -> tuple[str, Parsed]:
    if not isinstance(url, str):
        raise ValidationError("The URL must be a string.")
    try:
        return url.strip(), parse(url)
    except BadURL as exc:
        raise ValidationError(str(exc)) from None


def clean_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise ValidationError("Events must be a list of event names.")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(f"Unknown events: {', '.join(unknown)}; use any of: {', '.join(EVENTS)}.")
    if not events:
        raise ValidationError("Choose at least one event.")
    return [e for e in EVENTS if e in events]  # stored in the page's order, without repeats


def clean_name(name) -> str:
    if not isinstance(name, str):
        raise ValidationError("The name must be a string.")
    name = name.strip()
    if len(name) > 100:
        raise ValidationError("At most 100 characters.")
    return name
