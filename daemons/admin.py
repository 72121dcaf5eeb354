"""Admin for daemons, their logs and job history. Changes go through daemons.services, like everywhere else.

The Daemon changelist shows each daemon's live status (the same fragment as the dashboard, patched by
live.js; see templates/admin/daemons/daemon/change_list.html) and has Start/Stop/Restart actions.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from daemons import services
from daemons.models import Daemon, DaemonJobHistory, DaemonLog
from orchestrator.live.fragments import render_fragment


class DaemonAdminForm(forms.ModelForm):
    """Auto-start and the configuration; the configuration is validated against the kind's schema."""

    class Meta:
        model = Daemon
        fields = ["auto_start", "configuration"]

    def clean(self):
        cleaned = super().clean()
        if "configuration" not in cleaned:
            return cleaned  # not valid JSON: the field already carries its error
        schema = services.schema_for(self.instance)
        if schema is None:
            self.add_error("configuration", f"Kind {self.instance.kind!r} is not registered; nothing can be validated.")
            return cleaned
        value = cleaned["configuration"]
        clean, errors = schema.validate(value)
        if errors:
            self.add_error("configuration", [f"{key}: {msg}" for key, msgs in errors.items() for msg in msgs])
        else:
            cleaned["configuration"] = clean
        return cleaned


@admin.register(Daemon)
class DaemonAdmin(admin.ModelAdmin):
    form = DaemonAdminForm
    list_display = ["name", "kind", "desired_state", "actual_state", "auto_start", "live_status", "heartbeat_at"]
    list_filter = ["actual_state", "desired_state", "auto_start"]
    search_fields = ["name", "kind"]
    actions = ["start_daemons", "stop_daemons", "restart_daemons"]
    readonly_fields = [
        "name",
        "kind",
        "desired_state",
        "actual_state",
        "config_version",
        "current_status",
        "current_job_id",
        "current_job_type",
        "status_updated_at",
        "status_next_at",
        "status_level",
        "status_link_url",
        "status_link_label",
        "lease_host",
        "lease_pid",
        "heartbeat_at",
        "started_at",
        "last_error",
        "last_error_at",
        "paused_at",
        "paused_by",
        "pause_mode",
        "cycle_started_at",
        "last_cycle_started_at",
        "last_cycle_ended_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "desired_state", "actual_state", "auto_start"]}),
        ("Configuration", {"fields": ["configuration", "config_version"]}),
        (
            "Status",
            {
                "fields": [
                    "current_status",
                    "status_level",
                    "current_job_id",
                    "current_job_type",
                    "status_link_url",
                    "status_link_label",
                    "status_updated_at",
                    "status_next_at",
                ]
            },
        ),
        (
            "Pause and schedule (Pause/Resume on the Daemons page)",
            {
                "fields": [
                    "paused_at",
                    "paused_by",
                    "pause_mode",
                    "cycle_started_at",
                    "last_cycle_started_at",
                    "last_cycle_ended_at",
                ]
            },
        ),
        ("Host", {"fields": ["lease_host", "lease_pid", "heartbeat_at", "started_at"]}),
        ("Last error", {"fields": ["last_error", "last_error_at"], "classes": ["collapse"]}),
    ]

    # Rows come from the registered kinds (created on migrate); adding or deleting them here would only
    # make a row without a kind or a kind without a row.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Live status")
    def live_status(self, daemon):
        fragment = render_fragment("daemons/_status.html", {"daemon": daemon})
        return format_html(
            '<span class="live-status" data-daemon="{}" data-daemon-status="{}" data-actual-state="{}" '
            'data-desired-state="{}" data-auto-start="{}" data-status-updated-at="{}" data-next-at="{}" '
            'data-heartbeat-at="{}" data-stale="{}">{}</span>',
            daemon.name,
            daemon.name,
            daemon.actual_state,
            daemon.desired_state,
            "true" if daemon.auto_start else "false",
            _iso(daemon.status_updated_at),
            _iso(daemon.status_next_at),
            _iso(daemon.heartbeat_at),
            "true" if services.is_stale(daemon) else "false",
            mark_safe(fragment),  # rendered with autoescaping from our own template
        )

    def save_model(self, request, obj, form, change):
        # Through the services, never obj.save(): a whole-row save would overwrite the status the daemon
        # wrote meanwhile, and a new configuration must bump config_version to reach the running loop.
        # Compared with the row rather than form.changed_data, so an unchanged configuration does not bump
        # the version (and wake the loop) just because the form was saved.
        current = Daemon.objects.get(pk=obj.pk)
        if form.cleaned_data["configuration"] != current.configuration:
            services.update_configuration(current, form.cleaned_data["configuration"])
        if form.cleaned_data["auto_start"] != current.auto_start:
            services.set_auto_start(current, form.cleaned_data["auto_start"])
        obj.refresh_from_db()

    @admin.action(description="Start selected daemons")
    def start_daemons(self, request, queryset):
        self._control(request, queryset, services.start, "Start")

    @admin.action(description="Stop selected daemons")
    def stop_daemons(self, request, queryset):
        self._control(request, queryset, services.stop, "Stop")

    @admin.action(description="Restart selected daemons")
    def restart_daemons(self, request, queryset):
        self._control(request, queryset, services.restart, "Restart")

    def _control(self, request, queryset, operation, verb):
        names = [operation(daemon).name for daemon in queryset]
        self.message_user(request, f"{verb} requested for {', '.join(names)}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by daemons: viewable, filterable, deletable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DaemonLog)
class DaemonLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "daemon", "level", "short_message"]
    list_filter = ["level", "daemon"]
    list_select_related = ["daemon"]
    search_fields = ["message"]
    date_hierarchy = "created_at"

    @admin.display(description="Message")
    def short_message(self, entry):
        first = entry.message.splitlines()[0] if entry.message else ""
        return first[:200]


@admin.register(DaemonJobHistory)
class DaemonJobHistoryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "daemon", "action", "job_link", "job_type", "reason"]
    list_filter = ["action", "daemon", "job_type"]
    list_select_related = ["daemon"]
    search_fields = ["reason", "job_type"]
    date_hierarchy = "created_at"

    @admin.display(description="Job")
    def job_link(self, entry):
        short = str(entry.job_uuid)[:8]
        if entry.job_id is None:
            return format_html('<span title="Removed by retention">{}</span>', short)
        return format_html('<a href="{}">{}</a>', reverse("admin:jobs_job_change", args=[entry.job_uuid]), short)


def _iso(value) -> str:
    return value.isoformat() if value else ""
