"""Admin for downloads: the qBittorrent settings row (the same form and checks as its Settings page, so
the password is never shown), and read-only lists of what the runs did with each torrent and file."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from stash.downloads.forms import QBittorrentSettingsForm
from stash.downloads.models import HandledDownload, QBittorrentLogin, QBittorrentSettings, TorrentOutcome


@admin.register(QBittorrentSettings)
class QBittorrentSettingsAdmin(admin.ModelAdmin):
    form = QBittorrentSettingsForm
    readonly_fields = ["updated_at"]

    def get_fieldsets(self, request, obj=None):
        connection = ["host", "port", "username", "password"]
        form_fields = self.form(instance=obj or QBittorrentSettings()).fields
        connection += [name for name in ("clear_password", "reset_login_failures") if name in form_fields]
        return [
            ("Connection", {"fields": connection}),
            ("Which torrents", {"fields": ["category", "handled_tag", "failed_tag"]}),
            (
                "Library",
                {"fields": ["library_path", "library_stash_path", "link_mode", "min_video_seconds", "updated_at"]},
            ),
        ]

    def has_add_permission(self, request):
        return not QBittorrentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it (or to adding it).
        if QBittorrentSettings.objects.exists():
            return redirect(reverse("admin:stash_qbittorrentsettings_change", args=[QBittorrentSettings.SINGLETON_ID]))
        return redirect(reverse("admin:stash_qbittorrentsettings_add"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the process_downloads job: an audit to read, not to edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HandledDownload)
class HandledDownloadAdmin(ReadOnlyAdmin):
    list_display = ["torrent_name", "relative_path", "status", "method", "destination_path", "job_id", "updated_at"]
    list_filter = ["status", "method"]
    search_fields = ["torrent_name", "torrent_hash", "relative_path", "destination_path"]


@admin.register(TorrentOutcome)
class TorrentOutcomeAdmin(ReadOnlyAdmin):
    list_display = [
        "torrent_name",
        "outcome",
        "tagged",
        "files_placed",
        "files_failed",
        "reason",
        "job_id",
        "created_at",
    ]
    list_filter = ["outcome"]
    search_fields = ["torrent_name", "torrent_hash", "reason"]


@admin.register(QBittorrentLogin)
class QBittorrentLoginAdmin(ReadOnlyAdmin):
    list_display = ["failures", "last_failure_at", "last_error", "banned_until", "last_success_at"]
