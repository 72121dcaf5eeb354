"""What a proposed change may say: the allowed field/action pairs and the shape of their values.

Analysis jobs, the review pages and the API all go through `clean_change()`, so a plan never holds a change
that applying could not interpret. The shapes (the proposer fills current_value for display only, except
where noted):

- tags / performers, add: proposed_value is a name or a list of names.
- tags / performers, remove: the name(s) to remove are proposed_value, or current_value when
  proposed_value is null (analysis writes `current_value=["AI_TagMe"], proposed_value=null`).
- studio, set: proposed_value is a studio name, or null to clear the studio.
- title / details, set: proposed_value is the new text.
- markers, add: proposed_value is {"seconds": 83.0, "tags": ["Kiss_AI", ...], "title"?: str,
  "end_seconds"?: float, "primary_tag"?: str}; the primary tag is `primary_tag`, else the first of `tags`.
- markers, remove: current_value is the marker to remove, {"id": 17, ...} (its seconds and title for display).
"""

import math
from dataclasses import dataclass

from stash.plans.models import ChangeAction, ChangeField

ALLOWED_ACTIONS = {
    ChangeField.TAGS: (ChangeAction.ADD, ChangeAction.REMOVE),
    ChangeField.PERFORMERS: (ChangeAction.ADD, ChangeAction.REMOVE),
    ChangeField.STUDIO: (ChangeAction.SET,),
    ChangeField.TITLE: (ChangeAction.SET,),
    ChangeField.DETAILS: (ChangeAction.SET,),
    ChangeField.MARKERS: (ChangeAction.ADD, ChangeAction.REMOVE),
}
CHANGE_KEYS = {"field", "action", "current_value", "proposed_value", "confidence"}
NAME_LIMIT = 255
# Entity kind (as Stash names it) for the fields whose values are entity names.
ENTITY_KINDS = {ChangeField.TAGS: "tag", ChangeField.PERFORMERS: "performer", ChangeField.STUDIO: "studio"}


class PlanError(ValueError):
    """A request about a plan that is malformed: unknown field or action, a value of the wrong shape."""


class PlanStateError(PlanError):
    """The plan or change is in a state that does not allow the request (applied, cancelled, ...)."""


@dataclass(frozen=True)
class MarkerSpec:
    seconds: float
    primary_tag: str
    other_tags: tuple[str, ...]
    title: str
    end_seconds: float | None


def clean_change(data) -> dict:
    """The PlanChange fields for one proposed change, or PlanError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise PlanError("A change must be an object with field, action and proposed_value.")
    unknown = sorted(set(data) - CHANGE_KEYS)
    if unknown:
        raise PlanError(f"Unknown key(s) {', '.join(unknown)}; a change has {', '.join(sorted(CHANGE_KEYS))}.")
    field, action = data.get("field"), data.get("action")
    check_field_action(field, action)
    current, proposed = data.get("current_value"), data.get("proposed_value")
    check_value(field, action, current, proposed)
    return {
        "field": field,
        "action": action,
        "current_value": current,
        "proposed_value": proposed,
        "confidence": clean_confidence(data.get("confidence", 1.0)),
    }


def check_field_action(field, action):
    if field not in ALLOWED_ACTIONS:
        raise PlanError(f"Unknown field {field!r}; a change targets one of: {', '.join(ALLOWED_ACTIONS)}.")
    allowed = ALLOWED_ACTIONS[field]
    if action not in allowed:
        raise PlanError(f"A {field} change cannot {action!r}; it can {' or '.join(allowed)}.")


def clean_confidence(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanError("confidence must be a number between 0 and 1.")
    if not 0 <= value <= 1:
        raise PlanError(f"confidence must be between 0 and 1, not {value}.")
    return float(value)


def check_value(field, action, current, proposed):
    """Raise PlanError unless the values fit the field and action (see the module docstring)."""
    if field in (ChangeField.TAGS, ChangeField.PERFORMERS):
        if action == ChangeAction.ADD:
            entity_names(proposed, f"The {field} to add")
        else:
            entity_names(proposed if proposed is not None else current, f"The {field} to remove")
    elif field == ChangeField.STUDIO:
        if proposed is not None:
            entity_names(proposed, "The studio", many=False)
    elif field in (ChangeField.TITLE, ChangeField.DETAILS):
        if not isinstance(proposed, str):
            raise PlanError(f"The new {field} must be text.")
    elif action == ChangeAction.ADD:
        marker_spec(proposed)
    else:
        marker_id(current)


def entity_names(value, what: str, many: bool = True) -> list[str]:
    """A name, or (when `many`) a list of names, as a list of trimmed, non-empty names."""
    items = value if many and isinstance(value, list) else [value]
    if not items:
        raise PlanError(f"{what} must name at least one.")
    names = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            kind = "a name or a list of names" if many else "a name"
            raise PlanError(f"{what} must be {kind}, not {item!r}.")
        if len(item.strip()) > NAME_LIMIT:
            raise PlanError(f"{what}: a name is at most {NAME_LIMIT} characters.")
        names.append(item.strip())
    return names


def target_names(field, action, current, proposed) -> list[str]:
    """The entity names a tags/performers/studio change acts on (empty: clear the studio)."""
    if field == ChangeField.STUDIO:
        return [] if proposed is None else entity_names(proposed, "The studio", many=False)
    if action == ChangeAction.REMOVE and proposed is None:
        return entity_names(current, f"The {field} to remove")
    return entity_names(proposed, f"The {field}")


def marker_spec(value) -> MarkerSpec:
    if not isinstance(value, dict):
        raise PlanError('A marker to add must be an object like {"seconds": 83.0, "tags": ["Kiss_AI"]}.')
    unknown = sorted(set(value) - {"seconds", "end_seconds", "tags", "title", "primary_tag"})
    if unknown:
        raise PlanError(f"Unknown marker key(s): {', '.join(unknown)}.")
    seconds = _seconds(value.get("seconds"), "seconds")
    end = value.get("end_seconds")
    if end is not None:
        end = _seconds(end, "end_seconds")
        if end < seconds:
            raise PlanError("A marker's end_seconds cannot be before its seconds.")
    tags = entity_names(value["tags"], "The marker's tags") if value.get("tags") is not None else []
    primary = value.get("primary_tag")
    if primary is not None:
        primary = entity_names(primary, "The marker's primary tag", many=False)[0]
    elif tags:
        primary = tags[0]
    else:
        raise PlanError("A marker needs a primary tag: give primary_tag or a non-empty tags list.")
    title = value.get("title")
    if title is not None and not isinstance(title, str):
        raise PlanError("A marker's title must be text.")
    others = tuple(dict.fromkeys(t for t in tags if t.casefold() != primary.casefold()))
    return MarkerSpec(seconds, primary, others, (title or "").strip() or primary, end)


def marker_id(value) -> int:
    """The Stash id of the marker a remove change targets (its current_value)."""
    raw = value.get("id") if isinstance(value, dict) else None
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise PlanError('A marker to remove must be given as current_value {"id": <Stash marker id>, ...}.')
    return raw


def _seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PlanError(f"A marker's {name} must be a number of seconds, at least 0.")
    return float(value)
