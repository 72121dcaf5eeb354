"""HTML form fields built from a typed Schema (daemon configurations, job parameters).

The pages render `templates/includes/schema_fields.html` from these dicts; posted values go back through
`Schema.from_form()` and the domain services validate them, so a form and the API accept the same input.
"""

from orchestrator.typed import Schema

_INPUTS = {bool: "checkbox", int: "number", float: "number", str: "text", list: "textarea"}


def form_fields(schema: Schema, values: dict, errors: dict | None = None) -> list[dict]:
    """One dict per schema field: what to show (title, description, bounds) and its current value."""
    errors = errors or {}
    fields = []
    for f in schema.fields:
        value = values.get(f.name, f.default)
        fields.append(
            {
                "name": f.name,
                "title": f.title,
                "type": f.type_name,
                "description": f.description,
                "input": "select" if f.choices else _INPUTS[f.type],
                "step": "1" if f.type is int else "any",
                "min": _num(f.min),
                "max": _num(f.max),
                "choices": [str(c) for c in f.choices],
                "required": f.required,
                "default": _show(f.default),
                "value": _show(value),
                "checked": value is True,
                "errors": _messages(errors.get(f.name)),
            }
        )
    return fields


def other_errors(schema: Schema, errors: dict | None) -> list[str]:
    """Errors that belong to no field of the form: unknown keys and whole-object problems."""
    known = {f.name for f in schema.fields}
    lines = []
    for key, messages in (errors or {}).items():
        if key in known:
            continue
        prefix = "" if key == "non_field_errors" else f"{key}: "
        lines += [prefix + m for m in _messages(messages)]
    return lines


def _messages(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [str(m) for m in value]
    return [str(value)]


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _num(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
