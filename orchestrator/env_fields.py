"""The one rule for settings fields that an environment variable decides, for forms, the admin and APIs.

While the variable is set it wins over the saved value, which is kept (it is used again once the variable
is unset). So a form shows such a field read-only with the environment's value and saves the stored one
back; an API accepts the field only with its stored value (a client may send back what it read) and
refuses any other with the variable's name.
"""


def env_message(variable: str) -> str:
    return f"set by the environment ({variable}); unset it to change this here."


def show_env_fields(form, overrides: dict[str, str], display):
    """Make the fields the environment decides (field name → variable) read-only, showing `display(name)`.
    A disabled field keeps its stored value (templates/includes/settings_fields.html renders it)."""
    for name, variable in overrides.items():
        field = form.fields[name]
        field.disabled = True
        field.env_variable = variable
        field.help_text = f"set by the environment ({variable}); the value saved here is not used while it is set."
        field.env_display = display(name)


def env_field_errors(row, changes: dict, overrides: dict[str, str]) -> dict[str, list[str]]:
    """Per-field errors for API `changes` that would alter a field the environment decides."""
    return {
        name: [env_message(overrides[name])]
        for name, value in changes.items()
        if name in overrides and value != getattr(row, name)
    }
