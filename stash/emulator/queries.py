"""findScenes/findTags/... semantics: filters, sorting and paging the way Stash's SQL does them.

- Paging: `page` from 1, `per_page` 25 by default, at most 1000, negative means all.
- Sorting: no `sort` means no ORDER BY (id order); a sort Stash does not know is an error ("invalid
  sort: x"); ties are broken by title/name ascending whatever the direction, then id.
- Timestamps are compared as strings, as Stash's SQL compares its stored text: a criterion value is read,
  moved to the emulator's time zone and formatted like the stored values first.
- String criteria are SQL LIKE: case-insensitive for ASCII, with `%` and `_` as wildcards even in EQUALS.

Results are cached per (kind, data version, query) so that paging through one query costs one filter.
A filtered query sorts only its matches (an incremental sync's "updated since": a hundred rows, not the
whole table); the order is total (sort key, tiebreak, id), so the answer is the same either way.
"""

import json
import re
from collections import OrderedDict
from datetime import timedelta
from functools import partial

from stash.emulator.timefmt import format_time, normalise

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 25
CACHE_SIZE = 16


class QueryError(ValueError):
    pass


# --- criteria ------------------------------------------------------------------------------------


def like_pattern(value: str, contains: bool = False) -> re.Pattern:
    """SQLite LIKE as a regex: `%` any run, `_` any one character, ASCII case folded."""
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in value)
    if contains:
        body = f".*{body}.*"
    return re.compile(body, re.IGNORECASE | re.ASCII | re.DOTALL)


def string_criterion(get, criterion: dict):
    modifier, value = criterion["modifier"], criterion["value"]
    if modifier in ("IS_NULL", "NOT_NULL"):
        empty = modifier == "IS_NULL"
        return lambda e: (get(e) in (None, "")) == empty
    if modifier in ("EQUALS", "NOT_EQUALS"):
        pattern, negate = like_pattern(value), modifier == "NOT_EQUALS"
        return lambda e: (get(e) is not None and pattern.fullmatch(get(e)) is not None) != negate
    if modifier in ("INCLUDES", "EXCLUDES"):
        # Stash splits an unquoted value into words and matches any of them.
        words = [value.strip('"')] if value.strip().startswith('"') else value.split() or [""]
        patterns, negate = [like_pattern(w, contains=True) for w in words], modifier == "EXCLUDES"
        return lambda e: any(p.fullmatch(get(e) or "") for p in patterns) != negate
    if modifier in ("MATCHES_REGEX", "NOT_MATCHES_REGEX"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise QueryError(f"invalid regex {value!r}: {exc}") from None
        negate = modifier == "NOT_MATCHES_REGEX"
        return lambda e: (get(e) is not None and pattern.search(get(e)) is not None) != negate
    raise QueryError(f"unsupported string modifier {modifier}")


def _ordered(get, modifier: str, low, high):
    """Comparisons with SQL NULL semantics: nothing compares true against NULL."""
    tests = {
        "EQUALS": lambda x: x == low,
        "NOT_EQUALS": lambda x: x != low,
        "GREATER_THAN": lambda x: x > low,
        "LESS_THAN": lambda x: x < low,
        "BETWEEN": lambda x: low <= x <= high,
        "NOT_BETWEEN": lambda x: not low <= x <= high,
    }
    if modifier == "IS_NULL":
        return lambda e: get(e) is None
    if modifier == "NOT_NULL":
        return lambda e: get(e) is not None
    if modifier not in tests:
        raise QueryError(f"unsupported modifier {modifier}")
    test = tests[modifier]

    def check(entity):
        value = get(entity)
        return value is not None and test(value)

    return check


def int_criterion(get, criterion: dict):
    return _ordered(get, criterion["modifier"], criterion["value"], criterion.get("value2") or 0)


def timestamp_criterion(store, attr: str, criterion: dict):
    modifier = criterion["modifier"]
    if modifier in ("IS_NULL", "NOT_NULL"):
        return _ordered(lambda e: getattr(e, attr), modifier, None, None)
    # Stash puts the value into its SQL as given and compares it with its stored strings, so a value in
    # another zone or format compares wrongly there; the emulator does the same so that tests catch it.
    # It must still be a time Stash can read.
    try:
        normalise(criterion["value"], store.zone)
        low = criterion["value"]
        if criterion.get("value2"):
            normalise(criterion["value2"], store.zone)
            high = criterion["value2"]
        else:  # Stash's default upper bound: this time tomorrow
            high = format_time(store.now() + timedelta(days=1), store.zone)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    return _ordered(lambda e: getattr(e, attr), modifier, low, high)


def multi_criterion(get_ids, criterion: dict):
    """MultiCriterionInput over an entity's related ids (`get_ids` returns a collection)."""
    modifier = criterion["modifier"]
    values = {int(v) for v in criterion.get("value") or ()}
    excludes = {int(v) for v in criterion.get("excludes") or ()}
    tests = {
        "INCLUDES": lambda ids: bool(values & ids),
        "INCLUDES_ALL": lambda ids: values <= ids,
        "EXCLUDES": lambda ids: not values & ids,
        "IS_NULL": lambda ids: not ids,
        "NOT_NULL": lambda ids: bool(ids),
    }
    if modifier not in tests:
        raise QueryError(f"unsupported modifier {modifier}")
    test = tests[modifier]
    return lambda e: test(ids := set(get_ids(e))) and not excludes & ids


def combine(filter_dict: dict | None, build_own):
    """A predicate for a Stash filter object: its own criteria ANDed, then AND / OR / NOT sub-filters."""
    if not filter_dict:
        return None
    checks = build_own(filter_dict)
    own = (lambda e: all(check(e) for check in checks)) if checks else (lambda e: True)
    result = own
    if filter_dict.get("AND"):
        sub = combine(filter_dict["AND"], build_own)
        result = partial(lambda a, b, e: a(e) and b(e), result, sub)
    if filter_dict.get("OR"):
        sub = combine(filter_dict["OR"], build_own)
        result = partial(lambda a, b, e: a(e) or b(e), result, sub)
    if filter_dict.get("NOT"):
        sub = combine(filter_dict["NOT"], build_own)
        result = partial(lambda a, b, e: a(e) and not b(e), result, sub)
    return result


def text_search(getters, q: str | None):
    """FindFilterType.q: any word (or the quoted phrase) LIKE %word% in any of the given fields."""
    if not q or not q.strip():
        return None
    q = q.strip()
    words = [q.strip('"')] if q.startswith('"') and q.endswith('"') else q.split()
    patterns = [like_pattern(w, contains=True) for w in words]
    return lambda e: any(p.fullmatch(text) for get in getters for text in get(e) for p in patterns)


# --- the query -----------------------------------------------------------------------------------


class Kind:
    """What a find query needs to know about one kind of entity."""

    def __init__(self, name, label, sorts: dict, tiebreak, build_filter, search_fields, known_sorts=()):
        self.name = name
        self.label = label  # as Stash's error messages name it
        self.sorts = sorts  # sort name -> key function
        self.known_sorts = set(known_sorts) | set(sorts)  # Stash accepts these; unknown ones are an error
        self.tiebreak = tiebreak
        self.build_filter = build_filter  # (store, filter dict) -> list of checks
        self.search_fields = search_fields  # entity -> iterable of strings, for q


def page_bounds(find_filter: dict) -> tuple[int, int | None]:
    """(offset, limit) for Stash's page/per_page rules; limit None means all."""
    per_page = find_filter.get("per_page")
    if per_page is None:
        per_page = DEFAULT_PER_PAGE
    elif per_page < 0:
        return 0, None
    per_page = min(per_page, MAX_PER_PAGE)
    page = find_filter.get("page") or 1
    page = max(page, 1)
    return (page - 1) * per_page, per_page


def find(store, kind: Kind, find_filter: dict | None, entity_filter: dict | None) -> tuple[list, list]:
    """(every match in order, the requested page)."""
    find_filter = find_filter or {}
    matches = _matches(store, kind, find_filter, entity_filter)
    offset, limit = page_bounds(find_filter)
    return matches, matches[offset : None if limit is None else offset + limit]


def _matches(store, kind: Kind, find_filter: dict, entity_filter) -> list:
    query = {k: find_filter.get(k) for k in ("q", "sort", "direction")}
    key = (kind.name, store.versions[kind.name], json.dumps([query, entity_filter], sort_keys=True, default=str))
    cache = store.__dict__.setdefault("_query_cache", OrderedDict())
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    sort, direction = query["sort"], query["direction"]
    if sort and sort not in kind.known_sorts:
        raise QueryError(f"invalid sort: {sort}")
    checks = [
        c
        for c in (
            combine(entity_filter, lambda f: kind.build_filter(store, f)),
            text_search(kind.search_fields, query["q"]),
        )
        if c is not None
    ]
    if len(checks) > 1:
        checks = [lambda e, checks=checks: all(c(e) for c in checks)]
    if not checks:
        result = _sorted(store, kind, sort, direction)
    else:
        # The order is total (the sort key, then the tiebreak, then the id), so sorting the matches gives
        # the same rows in the same order as filtering the sorted table, as SQL's WHERE before ORDER BY
        # does: a filtered query (an incremental sync's "updated since") sorts its few matches, not the
        # whole table. A whole-table order already at hand is simply filtered.
        (check,) = checks
        ordered = _sort_cache(store).get(_sort_key(store, kind, sort, direction))
        if ordered is not None or not sort:
            result = [e for e in (ordered or store.table(kind.name).values()) if check(e)]
        else:
            result = _order(kind, [e for e in store.table(kind.name).values() if check(e)], sort, direction)
    cache[key] = result
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return result


def _sort_cache(store) -> dict:
    return store.__dict__.setdefault("_sort_cache", {})


def _sort_key(store, kind: Kind, sort: str | None, direction: str | None) -> tuple:
    return ("sorted", kind.name, store.versions[kind.name], sort, direction)


def _sorted(store, kind: Kind, sort: str | None, direction: str | None) -> list:
    """The whole table in the query's order; kept while the kind's version lasts (each sort and direction:
    a full sync asks for the newest row first, then pages through everything ascending)."""
    table = store.table(kind.name)
    if not sort:
        return list(table.values())  # ids only grow, so insertion order is id order
    key = _sort_key(store, kind, sort, direction)
    cache = _sort_cache(store)
    if key in cache:
        return cache[key]
    items = _order(kind, table.values(), sort, direction)
    for stale in [k for k in cache if k[1] == kind.name and k[2] != key[2]]:
        del cache[stale]
    cache[key] = items
    return items


def _entity_id(entity) -> int:
    return entity.id


def _order(kind: Kind, entities, sort: str, direction: str | None) -> list:
    """`entities` sorted as Stash's ORDER BY <sort> <direction>, <tiebreak> ASC, id ASC.

    Done as stable sorts from the last key to the first, each on a plain key (an int, a string) rather
    than a tuple: Python compares those several times faster, which matters for 100,000 scenes."""
    items = sorted(entities, key=_entity_id)  # normally in id order already: one linear pass
    items.sort(key=kind.tiebreak)  # ties: ascending whatever the direction
    if sort == "random":
        items.sort(key=lambda e: (e.id * 2654435761) % 4294967296)
        return items
    sort_key = kind.sorts.get(sort, _entity_id)
    descending = direction == "DESC"
    # Stash's ORDER BY puts NULLs first ascending (SQLite): they sort as the smallest value.
    nulls = [e for e in items if sort_key(e) is None]
    if nulls:
        items = [e for e in items if sort_key(e) is not None]
    items.sort(key=sort_key, reverse=descending)  # reverse keeps equal keys in their (tiebreak) order
    return items + nulls if descending else nulls + items
