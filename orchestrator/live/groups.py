"""The live groups, registered by the apps that publish them: what a page may subscribe to and which
group carries it.

An app describes its list group, and the prefix and key pattern of its pages' groups if pages follow
single objects, as a `LiveGroup`, and registers it from its `AppConfig.ready()` (its live.py's
`connect()`), beside its snapshot provider. A list's group ("jobs") is also the carrier of its pages'
groups ("job.<id>"): a job's update is sent once for the jobs list and the job's page, and one
subscription per web process covers every job page.
"""

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class LiveGroup:
    name: str  # the list group, e.g. "jobs"; it carries its pages' groups
    page: str = ""  # the page-group prefix, e.g. "job" for "job.<id>" ("": no page groups)
    key: str = ""  # a regular expression for what may follow the prefix's dot in a subscription

    def page_group(self, key) -> str:
        return f"{self.page}.{key}"


_groups: dict[str, LiveGroup] = {}
_carriers: dict[str, str] = {}  # page prefix → its list group


def register(group: LiveGroup) -> LiveGroup:
    """Make `group` (and its pages) subscribable. Registering the same group again changes nothing; a
    name or prefix another group uses is a programming error."""
    taken = _groups.get(group.name) or next((g for g in _groups.values() if group.page and g.page == group.page), None)
    if taken == group:
        return group
    if taken is not None:
        raise ValueError(f"Live group {group} clashes with {taken}")
    if bool(group.page) != bool(group.key):
        raise ValueError(f"Live group {group.name}: a page prefix needs a key pattern and the reverse")
    _groups[group.name] = group
    if group.page:
        _carriers[group.page] = group.name
    _pattern.cache_clear()
    return group


@cache
def _pattern() -> re.Pattern:
    names = [re.escape(g.name) for g in _groups.values()]
    pages = [rf"{re.escape(g.page)}\.(?:{g.key})" for g in _groups.values() if g.page]
    return re.compile("^(?:" + "|".join(names + pages) + ")$") if names else re.compile(r"(?!)")


def subscribable(group: str) -> bool:
    """Whether a socket may subscribe to `group` (anything else in ?subscribe= is ignored)."""
    return bool(_pattern().match(group))


def page_key(group: str) -> str:
    """What a page group names: daemon.<name> → name, job.<id> → id."""
    return group.split(".", 1)[1]


def carrier(group: str) -> str:
    """The channel-layer group that carries the updates of `group` (job.<id> → jobs, daemon.<name> → daemons)."""
    kind, dot, _ = group.partition(".")
    return _carriers.get(kind, group) if dot else group
