"""Admin for the video analysis settings row: the same form and checks as its settings page (forms.py)."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from stash.analysis.forms import VideoAnalysisSettingsForm
from stash.analysis.models import VideoAnalysisSettings


@admin.register(VideoAnalysisSettings)
class VideoAnalysisSettingsAdmin(admin.ModelAdmin):
    form = VideoAnalysisSettingsForm
    readonly_fields = ["updated_at"]
    fieldsets = [
        ("AI video tagger", {"fields": ["tagger_url", "tagger_timeout_seconds", "tagger_path_mappings"]}),
        ("Analysis", {"fields": ["frame_interval", "max_markers", "marker_interval_seconds", "updated_at"]}),
    ]

    def has_add_permission(self, request):
        return not VideoAnalysisSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it (or to adding it).
        if VideoAnalysisSettings.objects.exists():
            args = [VideoAnalysisSettings.SINGLETON_ID]
            return redirect(reverse("admin:stash_videoanalysissettings_change", args=args))
        return redirect(reverse("admin:stash_videoanalysissettings_add"))
