"""The admin for check results (read-only: the health loop writes them) and notification URLs (the URL
is write-only there too: an empty field keeps the stored one)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from health.models import HealthCheck, Notification, NotificationTarget
from health.notifications import validation


@admin.register(HealthCheck)
class HealthCheckAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "reason", "since", "last_ok_at", "last_run_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in HealthCheck._meta.fields]

    def has_add_permission(self, request):
        return False


class TargetAdminForm(forms.ModelForm):
    url = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Empty: keep the stored URL."
    )

    class Meta:
        model = NotificationTarget
        fields = ["name", "url", "events", "enabled"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url and self.instance.pk:
            return self.instance.url
        try:
            url, parsed = validation.clean_url(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        self.instance.service, self.instance.masked_url = parsed.service, parsed.masked
        return url

    def clean_events(self):
        try:
            return validation.clean_events(self.cleaned_data["events"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


@admin.register(NotificationTarget)
class NotificationTargetAdmin(admin.ModelAdmin):
    form = TargetAdminForm
    list_display = ["__str__", "masked_url", "service", "enabled", "last_sent_at", "last_error_at"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "target", "kind", "subject", "title", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False
