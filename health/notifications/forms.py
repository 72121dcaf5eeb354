from django import forms
from django.core.exceptions import ValidationError

from health.notifications import validation
from health.notifications.models import NotificationTarget
from orchestrator.notify import EVENTS


class TargetForm(forms.Form):
    """Add or edit one notification URL. Editing: an empty URL keeps the stored one (never shown back)."""

    name = forms.CharField(required=False, max_length=100, help_text="What this is, e.g. “Phone (ntfy)”.")
    url = forms.CharField(
        required=False,
        label="Apprise URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="e.g. discord://webhook_id/webhook_token, ntfy://topic, tgram://bot_token/chat_id, json://host:port/",
    )
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()), widget=forms.CheckboxSelectMultiple, required=False
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, instance: NotificationTarget | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "events": instance.events, "enabled": instance.enabled}
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.fields["url"].help_text = f"Stored: {instance.masked_url}. Leave empty to keep it."

    def clean_name(self):
        return validation.clean_name(self.cleaned_data["name"])

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url and self.instance is not None:
            return None  # keep the stored one
        url, self.parsed = validation.clean_url(url)
        return url

    def clean_events(self):
        try:
            return validation.clean_events(list(self.cleaned_data["events"]))
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def save(self) -> NotificationTarget:
        target = self.instance or NotificationTarget()
        data = self.cleaned_data
        target.name, target.events, target.enabled = data["name"], data["events"], data["enabled"]
        if data["url"]:
            target.url, target.service, target.masked_url = data["url"], self.parsed.service, self.parsed.masked
            target.last_error, target.last_error_at = "", None
        target.save()
        return target
