"""JSON from users, with a nesting limit: Python's parser raises RecursionError (not ValueError) on
thousands of levels, which became a 500, and deep values would break the code that walks them later.
Everything the project reads from a request goes through `loads` (the forms) or `LimitedJSONParser`
(DRF), and gets a clear "nested deeper than …" error instead."""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Far more than any configuration, job parameter or proposed value needs.
MAX_DEPTH = 32


class JSONTooDeep(ValueError):
    def __init__(self, limit: int = MAX_DEPTH):
        super().__init__(f"JSON nested deeper than {limit} levels")


def check_depth(value, limit: int = MAX_DEPTH):
    """Raise JSONTooDeep if `value` (parsed JSON) has more than `limit` levels of lists/objects."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise JSONTooDeep(limit)
        stack.extend((child, depth + 1) for child in children)


def loads(text, *, limit: int = MAX_DEPTH, **kwargs):
    """json.loads that raises ValueError (JSONTooDeep) for JSON nested deeper than `limit`."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(limit) from None
    check_depth(value, limit)
    return value


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting limit: 400 {"detail": "JSON parse error - nested deeper …"}."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {JSONTooDeep()}") from None
        try:
            check_depth(data)
        except JSONTooDeep as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data
