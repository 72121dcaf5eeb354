"""Admin for jobs: filter, search by id, cancel and retry through jobs.services.

Jobs are view-only here: their runtime fields belong to the worker, and new jobs come from the "run a
job" page, the API or daemons, all of which validate parameters.
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from jobs.models import Job
from jobs.services import JobError, cancel_job, retry_job
from jobs.types import all_kinds


class JobTypeFilter(admin.SimpleListFilter):
    """Every registered type by its label, as the field's choices offered before types became a registry
    (same query parameter, so saved filter links keep working)."""

    title = "type"
    parameter_name = "type__exact"

    def lookups(self, request, model_admin):
        return [(kind.type, kind.label) for kind in all_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "short_id",
        "type_label",
        "status",
        "progress_percent",
        "message",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = [JobTypeFilter, "status", "created_by"]
    search_fields = ["id"]
    date_hierarchy = "created_at"
    actions = ["cancel_jobs", "retry_jobs"]
    list_select_related = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Job", ordering="id")
    def short_id(self, job):
        return format_html('<span title="{}">{}</span>', job.pk, str(job.pk)[:8])

    @admin.display(description="Type", ordering="type")
    def type_label(self, job):
        return job.type_label

    @admin.display(description="Progress", ordering="progress")
    def progress_percent(self, job):
        counts = f" ({job.processed_items}/{job.total_items})" if job.total_items is not None else ""
        return f"{job.progress:.0f}%{counts}"

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset, cancel_job, "Cancelled or cancellation requested")

    @admin.action(description="Retry selected jobs (as new jobs with the original parameters)")
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, retry_job, "Retried")

    def _each(self, request, queryset, operation, done_label):
        done, refused = [], []
        for job in queryset:
            try:
                operation(job)
                done.append(str(job.pk)[:8])
            except JobError as exc:
                refused.append(f"{str(job.pk)[:8]}: {exc.message}")
        if done:
            self.message_user(request, f"{done_label}: {', '.join(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused — " + "; ".join(refused), messages.ERROR)
