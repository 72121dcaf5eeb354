"""Typed daemon configuration: defaults on new rows, validation, partial updates, auto-start."""

import pytest

from daemons import services
from daemons.kinds.test import TestDaemon
from daemons.models import Daemon, DesiredState

pytestmark = pytest.mark.django_db


def test_every_registered_kind_has_its_row_with_default_configuration():
    daemon = Daemon.objects.get(name="test")
    assert daemon.kind == "test"
    assert daemon.configuration == TestDaemon.config_schema.defaults()
    assert daemon.desired_state == DesiredState.STOPPED and daemon.auto_start is False


def test_invalid_configuration_reports_every_field_and_saves_nothing():
    daemon = Daemon.objects.get(name="test")
    before = (daemon.configuration, daemon.config_version)
    with pytest.raises(services.ConfigError) as invalid:
        services.update_configuration(
            daemon, {"interval_seconds": "soon", "launch_jobs": 1, "job_steps": 0, "colour": "red"}, partial=True
        )
    assert invalid.value.errors == {
        "colour": ["Unknown field."],
        "interval_seconds": ["Must be a number."],
        "launch_jobs": ["Must be a boolean."],
        "job_steps": ["Must be at least 1."],
    }
    daemon.refresh_from_db()
    assert (daemon.configuration, daemon.config_version) == before


def test_a_configuration_that_is_not_an_object_is_refused():
    with pytest.raises(services.ConfigError) as invalid:
        services.update_configuration(Daemon.objects.get(name="test"), ["interval_seconds", 3])
    assert invalid.value.errors == {"non_field_errors": ["Expected a JSON object."]}


def test_partial_update_changes_only_the_given_keys_and_bumps_the_version():
    daemon = services.update_configuration(Daemon.objects.get(name="test"), {"job_steps": 9}, partial=True)
    assert daemon.configuration == {**TestDaemon.config_schema.defaults(), "job_steps": 9}
    assert daemon.config_version == 1
    # A full update takes defaults for what it leaves out; integers are accepted for numbers.
    daemon = services.update_configuration(daemon, {"interval_seconds": 2})
    assert daemon.configuration == {**TestDaemon.config_schema.defaults(), "interval_seconds": 2.0}


def test_toggling_auto_start_never_touches_the_configuration():
    daemon = services.update_configuration(Daemon.objects.get(name="test"), {"job_steps": 9}, partial=True)
    daemon = services.set_auto_start(daemon, True)
    assert daemon.auto_start is True
    assert daemon.configuration["job_steps"] == 9 and daemon.config_version == 1


def test_reset_configuration_restores_defaults():
    daemon = services.update_configuration(Daemon.objects.get(name="test"), {"job_steps": 9}, partial=True)
    assert services.reset_configuration(daemon).configuration == TestDaemon.config_schema.defaults()


def test_effective_configuration_falls_back_to_defaults_for_bad_stored_values():
    daemon = Daemon.objects.get(name="test")
    Daemon.objects.filter(pk=daemon.pk).update(configuration={"job_steps": "many", "stray": 1, "log_every": 3})
    daemon.refresh_from_db()
    effective = services.effective_config(daemon)
    assert effective["job_steps"] == TestDaemon.config_schema.defaults()["job_steps"]
    assert effective["log_every"] == 3 and "stray" not in effective


def test_rows_gain_the_defaults_of_settings_added_later():
    Daemon.objects.filter(name="test").update(configuration={"job_steps": 4})
    services.ensure_daemon_rows()
    config = Daemon.objects.get(name="test").configuration
    assert config["job_steps"] == 4 and config["interval_seconds"] == 5.0


def test_auto_start_picks_what_the_stack_starts_and_start_all_starts_every_stopped_daemon():
    extra = Daemon.objects.create(name="extra", kind="test", auto_start=False)
    services.set_auto_start(Daemon.objects.get(name="test"), True)
    assert services.apply_auto_start() == ["test"]
    assert Daemon.objects.get(pk=extra.pk).desired_state == DesiredState.STOPPED
    assert services.restart_all() == ["test"]
    assert Daemon.objects.get(name="test").restart_requested == 1
    assert "extra" in services.start_all()
    assert not Daemon.objects.filter(desired_state=DesiredState.STOPPED).exists()
    assert set(services.stop_all()) == set(Daemon.objects.values_list("name", flat=True))
    assert not Daemon.objects.filter(desired_state=DesiredState.RUNNING).exists()


def test_logs_older_than_the_retention_period_are_purged(settings):
    from datetime import timedelta

    from django.utils import timezone

    from daemons.models import DaemonLog

    daemon = Daemon.objects.get(name="test")
    old = services.add_log(daemon, "INFO", "old line")
    services.add_log(daemon, "INFO", "new line")
    DaemonLog.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=settings.DAEMON_LOG_RETENTION_DAYS + 1)
    )
    assert services.purge_old_logs(daemon.pk) == 1
    assert list(DaemonLog.objects.values_list("message", flat=True)) == ["new line"]
