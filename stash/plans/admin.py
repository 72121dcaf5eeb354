"""Admin for analysis plans: browse plans with their change counts and filter changes.

Statuses change only through stash.plans (the review pages, the API, the apply job), which keep the
plan-status rule; here a plan's name and description can be edited, plans can be cancelled (an action
going through cancel_plan) or deleted, and changes are read-only.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from stash.plans import PlanStateError, cancel_plan
from stash.plans.models import AnalysisPlan, PlanChange

COUNTS = ["total_count", "pending_count", "approved_count", "rejected_count", "applied_count", "failed_count"]


def _count(name: str, label: str):
    @admin.display(description=label, ordering=name)
    def show(self, plan):
        return getattr(plan, name)

    return show


@admin.register(AnalysisPlan)
class AnalysisPlanAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "status", "scene_count", *COUNTS, "created_at", "applied_at"]
    list_display_links = ["id", "name"]
    list_filter = ["status", "created_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "source_job_id", "metadata", "created_at", "updated_at", "applied_at", "changes_link"]
    fields = ["name", "description", *readonly_fields]
    actions = ["cancel_plans"]

    scene_count = _count("scene_count", "Scenes")
    total_count = _count("total_count", "Changes")
    pending_count = _count("pending_count", "Pending")
    approved_count = _count("approved_count", "Approved")
    rejected_count = _count("rejected_count", "Rejected")
    applied_count = _count("applied_count", "Applied")
    failed_count = _count("failed_count", "Failed")

    def get_queryset(self, request):
        # The counts in one query with the plans (PlanQuerySet.with_counts), not one per row.
        return super().get_queryset(request).with_counts()

    def has_add_permission(self, request):
        return False  # plans come from analysis jobs

    @admin.display(description="Changes")
    def changes_link(self, plan):
        url = reverse("admin:stash_planchange_changelist") + f"?plan__id__exact={plan.pk}"
        return format_html(
            '<a href="{}">{} changes</a> · <a href="{}">review page</a>', url, plan.total_count, plan.get_absolute_url()
        )

    @admin.action(description="Cancel the selected plans")
    def cancel_plans(self, request, queryset):
        done, refused = 0, []
        for plan in queryset:
            try:
                cancel_plan(plan)
                done += 1
            except PlanStateError as exc:
                refused.append(str(exc))
        if done:
            messages.success(request, f"Cancelled {done} plan{'' if done == 1 else 's'}.")
        for reason in refused:
            messages.warning(request, reason)


@admin.register(PlanChange)
class PlanChangeAdmin(admin.ModelAdmin):
    list_display = ["id", "plan", "scene_id", "field", "action", "status", "confidence", "applied_at"]
    list_filter = ["status", "field", "action", "plan__status"]
    list_select_related = ["plan"]
    search_fields = ["plan__name", "=scene__id", "error"]
    search_help_text = "Plan name, scene id or error text."
    readonly_fields = [
        "plan",
        "scene_id",
        "field",
        "action",
        "current_value",
        "proposed_value",
        "confidence",
        "status",
        "error",
        "outcome",
        "created_at",
        "updated_at",
        "applied_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # review on the plan page, which keeps the status rules
