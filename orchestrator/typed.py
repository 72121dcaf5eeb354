"""Typed settings schemas: daemon configurations and job parameters.

A schema is an ordered list of fields with a type, a default, a description and bounds. `validate()`
returns the cleaned values or per-field error messages; nothing is coerced silently except strings from
HTML forms, which `from_form()` parses first. The same schema drives the API, the HTML forms and the
defaults written to new rows.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list"}
_ARTICLE = {bool: "a", int: "an", float: "a", str: "a", list: "a"}


@dataclass(frozen=True)
class Field:
    name: str
    type: type
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    required: bool = False
    label: str = ""
    # For lists: the type of every item (str or int).
    items: type = str
    # None (JSON null, an empty form input) is a valid value: "not given", resolved by whoever uses it.
    nullable: bool = False
    # A further check of a well-typed value: returns (clean_value, error_message_or_None), e.g. a
    # string that must parse as a time window (daemons/quiet_hours.py).
    validator: Callable[[Any], tuple[Any, str | None]] | None = None

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]

    def check(self, value):
        """Return (clean_value, error_message_or_None)."""
        if value is None and self.nullable:
            return None, None
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            return None, "Must be a finite number."
        if self.type is list:
            if not isinstance(value, list) or not all(_is_item(v, self.items) for v in value):
                return None, f"Must be a list of {TYPE_NAMES[self.items]}s."
            if self.required and not value:
                return None, "Give at least one item."
            if self.min is not None and self.items is int and any(v < self.min for v in value):
                return None, f"Every item must be at least {_num(self.min)}."
            if self.max is not None and len(value) > self.max:
                return None, f"At most {_num(self.max)} items."
            return value, None
        elif not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            return None, f"Must be {_ARTICLE[self.type]} {self.type_name}."
        if self.min is not None and value < self.min:
            return None, f"Must be at least {_num(self.min)}."
        if self.max is not None and value > self.max:
            return None, f"Must be at most {_num(self.max)}."
        if self.choices and value not in self.choices:
            return None, "Must be one of: " + ", ".join(str(c) for c in self.choices) + "."
        if self.validator is not None:
            return self.validator(value)
        return value, None

    def parse_form(self, raw: str | None):
        """Parse a value posted by an HTML form into this field's type (or return the raw text)."""
        if self.type is bool:
            return raw in ("on", "true", "1")
        if raw is None:
            return None
        raw = raw.strip()
        if not raw and self.nullable:
            return None
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                return raw
        if self.type is float:
            try:
                value = float(raw)
            except ValueError:
                return raw
            # float() accepts "nan" and "inf"; JSON has no such numbers, so they stay text and fail.
            return value if math.isfinite(value) else raw
        if self.type is list:
            if self.items is int:
                # Ids pasted one per line or separated by commas/spaces; bad items stay text and fail.
                return [int(v) if v.isdigit() else v for v in raw.replace(",", " ").split()]
            return [line.strip() for line in raw.splitlines() if line.strip()]
        return raw


def _is_item(value, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _num(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def defaults(self) -> dict:
        return {f.name: f.default for f in self.fields}

    def describe(self) -> list[dict]:
        return [
            {
                "name": f.name,
                "type": f.type_name,
                "default": f.default,
                "description": f.description,
                "min": f.min,
                "max": f.max,
                "choices": list(f.choices),
                "required": f.required,
                **({"items": TYPE_NAMES[f.items]} if f.type is list else {}),
            }
            for f in self.fields
        ]

    def validate(self, data, *, partial: bool = False) -> tuple[dict, dict]:
        """Validate a JSON object. Missing keys take their defaults unless `partial`.

        Returns (clean, errors); errors maps a field name (or "non_field_errors") to a list of messages.
        """
        if not isinstance(data, dict):
            return {}, {"non_field_errors": ["Expected a JSON object."]}
        known = {f.name: f for f in self.fields}
        errors: dict[str, list[str]] = {}
        for key in data:
            if key not in known:
                errors[key] = ["Unknown field."]
        clean = {}
        for f in self.fields:
            if f.name not in data:
                if f.required and not partial:
                    errors[f.name] = ["This field is required."]
                elif not partial:
                    clean[f.name] = f.default
                continue
            value, error = f.check(data[f.name])
            if error:
                errors[f.name] = [error]
            else:
                clean[f.name] = value
        return clean, errors

    def from_form(self, post) -> dict:
        """Turn posted form fields into a dict of typed values (to be validated)."""
        return {f.name: f.parse_form(post.get(f.name)) for f in self.fields}
