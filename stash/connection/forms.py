"""The Stash settings form, used by the Settings page and the admin.

The API key is write-only: the input never renders a value, an empty submit keeps the stored key, and
"clear" removes it. Fields the environment decides are shown read-only and keep their stored value.
Saving a new URL or key first asks Stash for its version; an answer other than a version refuses the
save with Stash's exact error.
"""

from django import forms
from django.core.exceptions import ValidationError

from orchestrator.env_fields import show_env_fields
from stash.connection import config
from stash.connection.models import StashSettings

MAPPING_ARROW = "->"


class PathMappingsField(forms.CharField):
    """Path mappings as text, one per line: `LOCAL -> STASH` (or `LOCAL -> TAGGER`, with other="tagger")."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "/srv/library -> /data"})

    def __init__(self, *args, other: str = "stash", **kwargs):
        super().__init__(*args, **kwargs)
        self.other = other

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(f"{m.get('local', '')} {MAPPING_ARROW} {m.get(self.other, '')}" for m in value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        mappings, errors = [], []
        example = f"LOCAL {MAPPING_ARROW} {self.other.upper()}, e.g. /srv/library -> /data"
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            local, arrow, theirs = line.partition(MAPPING_ARROW)
            if not arrow or not local.strip() or not theirs.strip():
                errors.append(f"Line {number}: write {example}.")
                continue
            mappings.append({"local": local.strip(), self.other: theirs.strip()})
        if errors:
            raise ValidationError(errors)
        return mappings


class PathListField(forms.CharField):
    """A list of paths as text, one per line."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "/srv/library/new"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class StashSettingsForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="From Stash → Settings → Security. Leave empty to keep the stored key.",
    )
    clear_api_key = forms.BooleanField(label="Clear the stored API key", required=False)
    path_mappings = PathMappingsField(
        label="Path mappings",
        required=False,
        help_text=f"One per line: LOCAL {MAPPING_ARROW} STASH, where LOCAL is the library directory on this "
        "machine and STASH the same directory as Stash sees it.",
    )
    scan_paths = PathListField(
        label="Default scan paths",
        required=False,
        help_text="Local directories a scan covers when its job names none, one per line. "
        "Empty: scan the whole library.",
    )

    class Meta:
        model = StashSettings
        fields = ["url", "api_key", "path_mappings", "scan_paths", "connect_timeout", "read_timeout", "preview_preset"]
        labels = {
            "url": "Stash URL",
            "connect_timeout": "Connect timeout (s)",
            "read_timeout": "Read timeout (s)",
            "preview_preset": "Preview preset",
        }
        help_texts = {
            "url": "Where Stash answers, e.g. http://localhost:9999.",
            "preview_preset": "x264 speed for generated previews: faster encodes make larger files.",
        }
        widgets = {"url": forms.TextInput(attrs={"placeholder": "http://localhost:9999", "spellcheck": "false"})}

    def __init__(self, *args, check_reachable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_reachable = check_reachable
        self.stored_api_key = self.instance.api_key
        self.key_given = False
        self.connection_before = config.effective_connection(self.instance)
        self.fields["connect_timeout"].widget.attrs.update(min="0.1", step="0.1")
        self.fields["read_timeout"].widget.attrs.update(min="0.1", step="0.1")
        key_field = self.fields["api_key"]
        if self.stored_api_key:
            key_field.widget.attrs["placeholder"] = f"{config.mask_key(self.stored_api_key)} (stored)"
        else:
            self.fields.pop("clear_api_key")
        self.env_fields = config.env_overrides()
        show_env_fields(self, self.env_fields, self._env_display)
        if "api_key" in self.env_fields and "clear_api_key" in self.fields:
            self.fields["clear_api_key"].disabled = True

    def _env_display(self, name: str) -> str:
        value = config.env_value(self.env_fields[name])
        return config.mask_key(value) if name == "api_key" else value

    def clean(self):
        cleaned = super().clean()
        if "api_key" in self.env_fields:
            cleaned["api_key"] = self.stored_api_key
            return cleaned
        typed = cleaned.get("api_key") or ""
        # A typed key, or "clear", is the user's own choice of key for the URL in the form.
        self.key_given = bool(typed or cleaned.get("clear_api_key"))
        if cleaned.get("clear_api_key"):
            if typed:
                self.add_error("api_key", "Type a new key or tick “Clear the stored API key”, not both.")
            cleaned["api_key"] = ""
        elif not typed:
            cleaned["api_key"] = self.stored_api_key
        return cleaned

    def _post_clean(self):
        # ModelForm validates the model (StashSettings.clean normalises the URL and paths) here; the
        # reachability check must see those normalised values, so it runs after, and only when the form
        # is otherwise valid.
        super()._post_clean()
        if not self._errors:
            # The stored key goes only to the Stash it was saved for (see config.same_target).
            refusal = config.key_must_be_typed(
                config.effective_connection(self.instance),
                self.connection_before,
                typed=self.key_given,
                action="save" if self.check_reachable else "test",
            )
            if refusal:
                self.add_error("api_key", refusal)
        if self.check_reachable and not self._errors:
            self._check_reachable()

    def _check_reachable(self):
        problem = config.connection_problem(self.instance, self.connection_before)
        if problem:
            self.add_error(*problem)

    def candidate_connection(self) -> config.Connection | None:
        """The connection the submitted values would give (for the Test button), or None when they are invalid."""
        if not self.is_valid():
            return None
        return config.effective_connection(self.instance)
