"""API shapes for daemons. A daemon reads as `Daemon.to_state()` (what live pages receive) plus its
effective configuration, the description of its settings and whether it is stale.

Serializers here only check the shape of a request; a configuration is validated by
daemons.services.update_configuration against the kind's typed schema.
"""

import re

from rest_framework import serializers

from daemons import schedule, services
from daemons.models import (
    ActualState,
    Daemon,
    DaemonJobHistory,
    DaemonLog,
    DesiredState,
    JobAction,
    LogLevel,
    PauseMode,
    StatusLevel,
)
from orchestrator.api import RejectUnknownFieldsMixin


class ConfigFieldSerializer(serializers.Serializer):
    """One setting of a daemon kind, as `Schema.describe()` reports it."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["boolean", "integer", "number", "string", "list"])
    default = serializers.JSONField()
    description = serializers.CharField()
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField())
    required = serializers.BooleanField()


class ScheduleSerializer(serializers.Serializer):
    """A daemon's schedule (daemons/schedule.py); times in ISO 8601."""

    interval_seconds = serializers.FloatField(allow_null=True, help_text="Its pause between cycles.")
    cycle_started_at = serializers.DateTimeField(allow_null=True, help_text="The cycle under way, if any.")
    last_cycle_started_at = serializers.DateTimeField(allow_null=True)
    last_cycle_ended_at = serializers.DateTimeField(allow_null=True)
    last_cycle_seconds = serializers.FloatField(allow_null=True)
    next_run_at = serializers.DateTimeField(allow_null=True, help_text="The end of its current wait (not paused).")
    quiet_hours = serializers.CharField(help_text="The window in which it may start work (empty: any time).")
    quiet_until = serializers.DateTimeField(allow_null=True, help_text="Outside the window now: when it opens.")
    time_zone = serializers.CharField(help_text="The zone quiet hours are read in (TIME_ZONE).")


class DaemonSerializer(serializers.Serializer):
    """Read-only: the declared fields document the shape; the values come from `Daemon.to_state()`."""

    name = serializers.SlugField()
    kind = serializers.CharField()
    display_name = serializers.CharField()
    desired_state = serializers.ChoiceField(choices=DesiredState.choices, help_text="What the daemon was told.")
    actual_state = serializers.ChoiceField(choices=ActualState.choices, help_text="What its host reports.")
    auto_start = serializers.BooleanField()
    current_status = serializers.CharField(allow_null=True)
    current_job_id = serializers.CharField(allow_null=True)
    current_job_type = serializers.CharField(allow_null=True)
    current_job_url = serializers.CharField(allow_null=True)
    status_updated_at = serializers.DateTimeField(allow_null=True)
    status_next_at = serializers.DateTimeField(
        allow_null=True, help_text="When the daemon will say something next at the latest (the end of its wait)."
    )
    status_level = serializers.ChoiceField(choices=StatusLevel.choices, allow_null=True)
    status_link_url = serializers.CharField(allow_null=True, help_text="A page the status points to, besides its job.")
    status_link_label = serializers.CharField(allow_null=True)
    lease_host = serializers.CharField()
    lease_pid = serializers.IntegerField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(help_text="The daemon's page.")
    paused = serializers.BooleanField()
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_by = serializers.CharField()
    pause_mode = serializers.ChoiceField(choices=PauseMode.choices, allow_null=True)
    schedule = ScheduleSerializer()
    configuration = serializers.DictField(help_text="The settings in effect (stored values over the defaults).")
    config_schema = ConfigFieldSerializer(many=True, help_text="Every setting with its type, default and bounds.")
    is_stale = serializers.BooleanField(
        help_text="Running, but overdue: past status_next_at plus DAEMON_STALE_AFTER_SECONDS, or its host's "
        "heartbeat is older than DAEMON_LEASE_SECONDS."
    )

    def to_representation(self, instance: Daemon) -> dict:
        schema = services.schema_for(instance)
        return {
            **schedule.state(instance),
            "configuration": services.effective_config(instance) if schema else instance.configuration,
            "config_schema": schema.describe() if schema else [],
            "is_stale": services.is_stale(instance),
        }


class DaemonPatchSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    configuration = serializers.JSONField(
        required=False, help_text="Only the settings given change; the others keep their values."
    )
    auto_start = serializers.BooleanField(required=False, help_text="Never touches the configuration.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs:
            raise serializers.ValidationError("Give configuration and/or auto_start.")
        return attrs


class DaemonPutSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    configuration = serializers.JSONField(help_text="The whole configuration; settings left out take defaults.")
    auto_start = serializers.BooleanField(required=False, help_text="Never touches the configuration.")


class DaemonLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    daemon = serializers.SlugField()
    level = serializers.ChoiceField(choices=LogLevel.choices)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: DaemonLog) -> dict:
        return instance.to_state()


class _SinceFilterSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Only entries written at or after this ISO 8601 time.")

    def to_internal_value(self, data):
        since = data.get("since")
        if isinstance(since, str) and "T" in since:
            # An unencoded "+02:00" offset arrives as " 02:00" (a "+" in a query string means a space).
            data = {**data, "since": re.sub(r" (\d{2}(:?\d{2})?)$", r"+\1", since)}
        return super().to_internal_value(data)


class DaemonLogFilterSerializer(_SinceFilterSerializer):
    level = serializers.ChoiceField(
        choices=LogLevel.values, required=False, help_text="Lines at this level and more severe."
    )

    def to_internal_value(self, data):
        # Levels are names people type: accept "warning" as well as "WARNING".
        if isinstance(data.get("level"), str):
            data = {**data, "level": data["level"].upper()}
        return super().to_internal_value(data)


class DaemonHistorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    daemon = serializers.SlugField()
    job_id = serializers.UUIDField()
    job_type = serializers.CharField()
    job_url = serializers.CharField(allow_null=True, help_text="Null once the job was purged by retention.")
    action = serializers.ChoiceField(choices=JobAction.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: DaemonJobHistory) -> dict:
        return instance.to_state()


class DaemonHistoryFilterSerializer(_SinceFilterSerializer):
    pass


class ActionResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    daemon = DaemonSerializer()


class PauseSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=PauseMode.choices,
        default=PauseMode.SOFT,
        help_text="soft: finish what it watches, start nothing new; hard (generation): also stop its job.",
    )


class BulkPauseSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    daemons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only these daemons (every name must exist); default: every daemon.",
    )
