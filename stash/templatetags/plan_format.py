"""How plan changes read on the plans pages: names as chips, markers as "01:23 → Kiss_AI", text as text.

Values are what proposers stored (see stash.plans.values); anything of an unexpected shape is shown as
compact JSON rather than hidden, so a reviewer still sees what would be applied.
"""

import json

from django import template

register = template.Library()


def timestamp(seconds) -> str:
    """83 → "01:23", 3723 → "1:02:03" (marker times as a reviewer compares them with the player)."""
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    if isinstance(value, dict):
        return [str(value["name"])] if "name" in value else [_json(value)]
    return [str(value)]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def marker_label(value) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("seconds"), int | float):
        return _json(value)
    when = timestamp(value["seconds"])
    if isinstance(value.get("end_seconds"), int | float):
        when += "–" + timestamp(value["end_seconds"])
    tags = _names(value.get("tags"))
    primary = value.get("primary_tag") or (tags[0] if tags else "") or value.get("title") or ""
    label = f"{when} → {primary}"
    title = value.get("title")
    if title and title != primary:
        label += f" “{title}”"
    others = [t for t in tags if t != primary]
    if others:
        label += " (+" + ", ".join(others) + ")"
    if value.get("id") is not None:
        label += f" #{value['id']}"
    return label


@register.filter
def change_display(change) -> dict:
    """{"current": [...] | str, "proposed": [...] | str, "chips": bool}: what the change reads as."""
    field, action = change.field, change.action
    current, proposed = change.current_value, change.proposed_value
    if field == "markers":
        if action == "add":
            return {"current": "", "proposed": marker_label(proposed), "chips": False}
        return {"current": marker_label(current), "proposed": "Remove this marker", "chips": False}
    if field in ("tags", "performers"):
        if action == "add":
            return {"current": _names(current), "proposed": ["+ " + n for n in _names(proposed)], "chips": True}
        target = proposed if proposed is not None else current
        return {"current": _names(current), "proposed": ["− " + n for n in _names(target)], "chips": True}
    if field == "studio":
        return {"current": ", ".join(_names(current)), "proposed": proposed or "(no studio)", "chips": False}
    return {
        "current": current if isinstance(current, str) else ("" if current is None else _json(current)),
        "proposed": proposed if isinstance(proposed, str) else _json(proposed),
        "chips": False,
    }


@register.filter
def percent(confidence) -> str:
    return f"{float(confidence) * 100:.0f}%" if confidence is not None else ""


@register.filter
def as_json(value) -> str:
    return _json(value)
