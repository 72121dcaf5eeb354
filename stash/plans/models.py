"""Analysis plans: proposed changes to scenes, reviewed by people (or auto-approved) and applied to Stash.

A plan is built by an analysis job (draft), reviewed change by change (reviewing), and applied by an
`apply_plan` job (applied once nothing approved or pending is left), or cancelled. Each change targets
one scene and one field and records its own outcome, so an apply that crashed half-way knows exactly
what reached Stash."""

from django.db import models
from django.db.models import Count, Q

from orchestrator.paths import job_path, plan_path
from stash.models.mirror import Scene


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEWING = "reviewing", "Reviewing"
    APPLIED = "applied", "Applied"
    CANCELLED = "cancelled", "Cancelled"


class ChangeField(models.TextChoices):
    TAGS = "tags", "Tags"
    PERFORMERS = "performers", "Performers"
    STUDIO = "studio", "Studio"
    TITLE = "title", "Title"
    DETAILS = "details", "Details"
    MARKERS = "markers", "Markers"


class ChangeAction(models.TextChoices):
    ADD = "add", "Add"
    REMOVE = "remove", "Remove"
    SET = "set", "Set"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class PlanQuerySet(models.QuerySet):
    def with_counts(self):
        """Per-status change counts and the number of scenes, in the same query (the plans list)."""
        counts = {f"{status}_count": Count("changes", filter=Q(changes__status=status)) for status in ChangeStatus}
        return self.annotate(
            total_count=Count("changes"),
            scene_count=Count("changes__scene_id", distinct=True),
            **counts,
        )


class AnalysisPlan(models.Model):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    # The analysis job that built it (no foreign key: jobs depend on stash, not the reverse).
    source_job_id = models.UUIDField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="plan_status_created"),  # plans list, applier
            models.Index(fields=["source_job_id"], name="plan_source_job"),  # a job's plan
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return plan_path(self.pk)  # no reverse(): workers render plan fragments without the URLconf

    @property
    def source_job_url(self) -> str:
        return job_path(self.source_job_id) if self.source_job_id else ""

    @property
    def can_be_applied(self) -> bool:
        return self.status in (PlanStatus.DRAFT, PlanStatus.REVIEWING)


class PlanChange(models.Model):
    plan = models.ForeignKey(AnalysisPlan, on_delete=models.CASCADE, related_name="changes")
    # Kept when the scene disappears from the mirror (deleted in Stash): the change then fails with that
    # reason instead of vanishing from the plan's history. Nullable so joins stay LEFT OUTER.
    scene = models.ForeignKey(
        Scene, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="plan_changes"
    )
    field = models.CharField(max_length=20, choices=ChangeField.choices)
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    current_value = models.JSONField(null=True, blank=True)
    proposed_value = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(default=1.0)
    status = models.CharField(max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    error = models.TextField(blank=True, default="")
    # What applying produced in Stash (e.g. the id of a created marker), so a retry creates nothing twice.
    outcome = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan_id", "scene_id", "id"]
        indexes = [
            models.Index(fields=["plan", "status"], name="change_plan_status"),  # apply selection, counts
            models.Index(fields=["scene", "field"], name="change_scene_field"),  # a scene's proposals
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.field} on scene {self.scene_id}"
