"""The state a socket gets on connect, before any push: each app provides its own groups'.

An app registers one provider per list group from its `AppConfig.ready()`:
`register(groups.DAEMONS, provider)`. The provider is called, in a worker thread with database access,
with each subscribed group that list carries (the list itself or one of its pages) and returns the
whole-state payloads live updates for that group use.
"""

from collections.abc import Callable

from orchestrator.live.groups import carrier

_providers: dict[str, Callable[[str], list[dict]]] = {}


def register(group: str, provider: Callable[[str], list[dict]]):
    """Make `provider` answer for `group` and every page group it carries (registering again replaces)."""
    _providers[group] = provider


def payloads(groups: list[str]) -> list[dict]:
    """hello, the current state of everything `groups` cover (in their order), snapshot_done."""
    out = [{"type": "hello", "groups": groups}]
    for group in groups:
        provider = _providers.get(carrier(group))
        if provider is not None:
            out += provider(group)
    out.append({"type": "snapshot_done"})
    return out
