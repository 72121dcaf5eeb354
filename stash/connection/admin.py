"""Admin for the Stash settings row: the same form and checks as the Stash settings page (forms.py).

The API key input never shows the stored key; leaving it empty keeps it."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from stash.connection.forms import StashSettingsForm
from stash.connection.models import StashSettings


@admin.register(StashSettings)
class StashSettingsAdmin(admin.ModelAdmin):
    form = StashSettingsForm
    readonly_fields = ["updated_at"]

    def get_fieldsets(self, request, obj=None):
        connection = ["url", "api_key"] + (["clear_api_key"] if obj is not None and obj.api_key else [])
        return [
            ("Connection", {"fields": connection}),
            ("Paths", {"fields": ["path_mappings", "scan_paths"]}),
            ("Timeouts", {"fields": ["connect_timeout", "read_timeout"]}),
            ("Generation", {"fields": ["preview_preset", "updated_at"]}),
        ]

    def has_add_permission(self, request):
        return not StashSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list would only ever hold it, so go straight to it (or to adding it).
        if StashSettings.objects.exists():
            return redirect(reverse("admin:stash_stashsettings_change", args=[StashSettings.SINGLETON_ID]))
        return redirect(reverse("admin:stash_stashsettings_add"))
