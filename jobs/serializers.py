"""API shapes for jobs. A job reads as `Job.to_state()`, the same object live pages receive.

Serializers here only check the shape of a request; the rules (which types exist, which parameters a
type accepts) live in jobs.services and jobs.types.
"""

from rest_framework import serializers

from jobs.models import Job, JobStatus
from jobs.types import REGISTRY
from orchestrator.api import RejectUnknownFieldsMixin


class JobSerializer(serializers.Serializer):
    """Read-only: the declared fields document the shape; the values come from `Job.to_state()`."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=list(REGISTRY))
    type_label = serializers.CharField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.FloatField(help_text="0-100")
    processed_items = serializers.IntegerField()
    total_items = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(help_text="The job's latest progress message.")
    parameters = serializers.JSONField()
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField()
    parent_id = serializers.UUIDField(allow_null=True)
    retry_of_id = serializers.UUIDField(allow_null=True, help_text="The job this one retries.")
    created_by = serializers.CharField(help_text='Name of the daemon that launched the job ("" for people).')
    requested_by = serializers.CharField(help_text='The account that asked for it, on a page or the API ("": none).')
    external_id = serializers.CharField(help_text="Id of the external (e.g. Stash) task the job drives.")
    worker = serializers.CharField()
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    cancel_requested_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="The job's page.")
    can_cancel = serializers.BooleanField()
    can_retry = serializers.BooleanField()

    def to_representation(self, instance: Job) -> dict:
        return {**instance.to_state(), "can_cancel": instance.can_cancel, "can_retry": instance.can_retry}


class JobCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    type = serializers.CharField(help_text="A job type, e.g. test.")
    parameters = serializers.JSONField(required=False, help_text="The type's parameters; omitted ones take defaults.")


def _split(values: list[str]) -> list[str]:
    """`?status=a&status=b` and `?status=a,b` mean the same."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class JobFilterSerializer(serializers.Serializer):
    """Query parameters of the job list. Several values (repeated or comma-separated) match any of them."""

    type = serializers.ListField(child=serializers.CharField(), required=False, help_text="Job type(s).")
    status = serializers.ListField(child=serializers.CharField(), required=False, help_text="Status(es).")
    daemon = serializers.CharField(
        required=False, allow_blank=True, help_text="Name of the daemon that launched the jobs (blank: any)."
    )

    @classmethod
    def from_query(cls, query_params):
        data = {key: _split(query_params.getlist(key)) for key in ("type", "status") if key in query_params}
        if "daemon" in query_params:
            data["daemon"] = query_params["daemon"]
        return cls(data=data)

    def validate_type(self, values):
        return _check_choices(values, list(REGISTRY), "job type", "job types")

    def validate_status(self, values):
        return _check_choices(values, JobStatus.values, "status", "statuses")


def _check_choices(values, valid, noun, plural):
    bad = [v for v in values if v not in valid]
    if bad:
        raise serializers.ValidationError(
            f"Unknown {noun} {', '.join(repr(b) for b in bad)}. Valid {plural}: {', '.join(valid)}."
        )
    return values
