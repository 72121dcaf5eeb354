"""Schedule, pause and quiet hours in-process: the rules of daemons/pause.py, daemons/schedule.py and
daemons/quiet_hours.py, one step at a time with frozen time, and the API, the pages and daemonctl
refusing bad input without changing anything. (Real processes: test_pause_processes.py,
test_pause_survives_restart.py.)"""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from daemons import pause, quiet_hours, schedule, services
from daemons.models import ActualState, Daemon, DesiredState, JobAction
from daemons.registry import get_kind
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)

UTC_TEN = "2026-03-02T10:00:00+00:00"


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(UTC_TEN, tick=False)
    return time_machine


@pytest.fixture
def rows(transactional_db):
    services.ensure_daemon_rows()


@pytest.fixture
def admin(transactional_db):
    return User.objects.create_user("admin", password="correct-horse-battery", is_staff=True)


@pytest.fixture
def api(admin):
    client = APIClient()
    client.force_authenticate(admin)
    return client


def row(name="test") -> Daemon:
    return Daemon.objects.get(name=name)


def loop(name="test", **config):
    """The kind's instance for the row, as the host builds it (with the row's pause)."""
    daemon = row(name)
    subject = get_kind(daemon.kind)(daemon.pk, daemon.name, {**services.effective_config(daemon), **config})
    subject.pause = pause.state_of(daemon)
    return subject


def step(subject) -> float:
    return async_to_sync(subject.run_step)()


def snapshot(daemon: Daemon) -> dict:
    """Every field a refused request must leave alone."""
    daemon.refresh_from_db()
    return {f.name: getattr(daemon, f.name) for f in Daemon._meta.concrete_fields if f.name not in ("updated_at",)}


# --- quiet hours: parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [("01:00-07:00", "01:00-07:00"), (" 1:00 – 7:30 ", "01:00-07:30"), ("22:00-06:00", "22:00-06:00"), ("", "")],
)
def test_quiet_hours_parse_and_normalise(text, normal):
    window = quiet_hours.parse(text)
    assert (str(window) if window else "") == normal


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("01:00", "Not a time window"),
        ("night", "Not a time window"),
        ("25:00-07:00", "Hours go from 00 to 23"),
        ("01:60-07:00", "minutes from 00 to 59"),
        ("03:00-03:00", "The window is empty"),
    ],
)
def test_quiet_hours_that_do_not_parse_or_are_empty_are_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        quiet_hours.parse(text)


def test_a_window_opens_today_or_tomorrow_and_may_cross_midnight(frozen):
    now = timezone.now()  # 10:00 UTC (TIME_ZONE is UTC in the tests)
    night = quiet_hours.parse("01:00-07:00")
    assert not night.is_open(now)
    assert night.opens_at(now) == datetime.fromisoformat("2026-03-03T01:00:00+00:00")
    late = quiet_hours.parse("22:00-11:00")
    assert late.is_open(now)
    assert quiet_hours.parse("10:30-12:00").opens_at(now) == datetime.fromisoformat("2026-03-02T10:30:00+00:00")


def test_quiet_hours_are_read_in_the_configured_time_zone(frozen, settings):
    settings.TIME_ZONE = "Europe/Paris"  # 10:00 UTC is 11:00 in Paris
    timezone.activate("Europe/Paris")
    try:
        window = quiet_hours.parse("11:00-12:00")
        assert window.is_open(timezone.now())
        assert not quiet_hours.parse("10:00-11:00").is_open(timezone.now())
    finally:
        timezone.deactivate()


# --- quiet hours: bad input through the API, the form and the JSON editor -----------------------------


def test_bad_quiet_hours_get_a_400_from_the_api_and_change_nothing(api, rows):
    before = snapshot(row())
    for bad in ("7 to 9", "03:00-03:00", 42):
        response = api.patch("/api/daemons/test/", {"configuration": {"quiet_hours": bad}}, format="json")
        assert response.status_code == 400, response.content
        assert "quiet_hours" in response.json()["configuration"]
    assert snapshot(row()) == before
    good = api.patch("/api/daemons/test/", {"configuration": {"quiet_hours": "1:00-7:00"}}, format="json")
    assert good.status_code == 200
    assert good.json()["configuration"]["quiet_hours"] == "01:00-07:00"
    assert good.json()["schedule"]["quiet_hours"] == "01:00-07:00"
    assert good.json()["schedule"]["time_zone"] == "UTC"


def test_bad_quiet_hours_get_a_form_error_and_change_nothing(client, admin, rows):
    client.force_login(admin)
    before = snapshot(row())
    form = {"interval_seconds": "5", "job_every": "10", "job_steps": "5", "job_step_seconds": "1"}
    form.update(log_every="5", error_every="20", quiet_hours="03:00-03:00")
    response = client.post("/daemons/test/config/", form)
    assert response.status_code == 400
    assert "The window is empty" in response.content.decode()
    assert snapshot(row()) == before


# --- pause requests --------------------------------------------------------------------------------------


def test_pause_and_resume_through_the_api_record_who_and_when(api, rows, frozen):
    response = api.post("/api/daemons/test/pause/", {}, format="json")
    assert response.status_code == 200
    body = response.json()["daemon"]
    assert body["paused"] is True and body["paused_by"] == "admin" and body["pause_mode"] == "soft"
    assert body["paused_at"] == UTC_TEN
    assert pause.state_of(row()).message == "Paused since 10:00 (by admin)"
    resumed = api.post("/api/daemons/test/resume/")
    assert resumed.status_code == 200 and resumed.json()["daemon"]["paused"] is False
    assert row().paused_at is None and row().paused_by == ""


def test_pause_of_an_unknown_daemon_or_mode_is_refused_and_changes_nothing(api, rows):
    before = {d.name: snapshot(d) for d in Daemon.objects.all()}
    unknown = api.post("/api/daemons/nope/pause/", {}, format="json")
    assert unknown.status_code == 400
    assert "Unknown daemon 'nope'. Known daemons: auto_plan_applier" in unknown.json()["detail"]
    assert api.post("/api/daemons/nope/resume/").status_code == 400
    some = api.post("/api/daemons/pause-all/", {"daemons": ["test", "nope"]}, format="json")
    assert some.status_code == 400
    assert "Unknown daemon 'nope'" in some.json()["daemons"][0]
    mode = api.post("/api/daemons/test/pause/", {"mode": "sideways"}, format="json")
    assert mode.status_code == 400 and "mode" in mode.json()
    typo = api.post("/api/daemons/test/pause/", {"mdoe": "hard"}, format="json")
    assert typo.status_code == 400 and typo.json()["mdoe"] == ["Unknown field."]
    # Only generation has a hard pause: the test daemon's job would just be cancelled for nothing.
    hard = api.post("/api/daemons/test/pause/", {"mode": "hard"}, format="json")
    assert hard.status_code == 400
    assert "test has no hard pause" in hard.json()["mode"][0]
    assert "auto_stash_generation" in hard.json()["mode"][0]
    assert {d.name: snapshot(d) for d in Daemon.objects.all()} == before


def test_pause_all_and_resume_all(api, rows):
    pause.pause(row("auto_stash_sync"), by="someone")
    response = api.post("/api/daemons/pause-all/", {}, format="json")
    assert response.status_code == 200
    names = set(Daemon.objects.values_list("name", flat=True)) - {"auto_stash_sync"}
    assert set(response.json()["daemons"]) == names and response.json()["paused_count"] == len(names)
    assert not Daemon.objects.filter(paused_at__isnull=True).exists()
    assert row("auto_stash_sync").paused_by == "someone"  # already paused: left as it was
    again = api.post("/api/daemons/pause-all/", {}, format="json")
    assert again.json()["paused_count"] == 0
    some = api.post("/api/daemons/resume-all/", {"daemons": ["test"]}, format="json")
    assert some.json()["daemons"] == ["test"] and row().paused_at is None
    rest = api.post("/api/daemons/resume-all/")
    assert rest.json()["resumed_count"] == len(names)
    assert not Daemon.objects.filter(paused_at__isnull=False).exists()


def test_the_pages_pause_resume_and_refuse_a_hard_pause_the_kind_lacks(client, admin, rows):
    client.force_login(admin)
    page = client.get("/daemons/").content.decode()
    assert "Pause all" in page and "Resume all" in page and "Hard pause" in page
    assert client.post("/daemons/test/pause/", {"mode": "soft"}).status_code == 302
    assert row().paused_by == "admin"
    page = client.get("/daemons/test/").content.decode()
    assert 'data-paused="true"' in page and "Paused</span>" in page
    before = snapshot(row("download_processor"))
    refused = client.post("/daemons/download_processor/pause/", {"mode": "hard"})
    assert refused.status_code == 400
    assert "has no hard pause" in refused.content.decode()
    assert snapshot(row("download_processor")) == before
    assert client.post("/daemons/nope/pause/").status_code == 404
    assert client.post("/daemons/test/resume/").status_code == 302 and row().paused_at is None
    assert client.post("/daemons/pause-all/").status_code == 302
    assert not Daemon.objects.filter(paused_at__isnull=True).exists()
    assert client.post("/daemons/resume-all/").status_code == 302
    assert not Daemon.objects.filter(paused_at__isnull=False).exists()


def test_run_now_is_refused_for_a_stopped_or_paused_daemon(api, rows):
    before = snapshot(row())
    stopped = api.post("/api/daemons/test/run-now/")
    assert stopped.status_code == 409 and "is stopped" in stopped.json()["detail"]
    services.start(row())
    pause.pause(row(), by="admin")
    before = snapshot(row())
    paused = api.post("/api/daemons/test/run-now/")
    assert paused.status_code == 409 and "resume it first" in paused.json()["detail"]
    assert snapshot(row()) == before
    pause.resume(row())
    ok = api.post("/api/daemons/test/run-now/")
    assert ok.status_code == 200 and row().run_now_requested == before["run_now_requested"] + 1


def test_daemonctl_pause_resume_run_now_and_schedule(rows):
    out = StringIO()
    call_command("daemonctl", "pause", "test", stdout=out)
    assert "Daemon test paused (soft)." in out.getvalue()
    assert row().paused_at is not None and row().paused_by
    with pytest.raises(CommandError, match="Unknown daemon 'nope'"):
        call_command("daemonctl", "pause", "nope")
    with pytest.raises(CommandError, match="has no hard pause"):
        call_command("daemonctl", "pause", "auto_stash_sync", "--hard")
    assert row("auto_stash_sync").paused_at is None
    with pytest.raises(CommandError, match="is stopped"):
        call_command("daemonctl", "run-now", "auto_stash_sync")
    services.update_configuration(row("auto_stash_sync"), {"quiet_hours": "01:00-07:00"}, partial=True)
    table = StringIO()
    call_command("daemonctl", "schedule", stdout=table)
    lines = table.getvalue().splitlines()
    assert lines[0].split() == [
        "NAME",
        "INTERVAL",
        "LAST-CYCLE",
        "TOOK",
        "CYCLE-NOW",
        "NEXT-RUN",
        "PAUSED",
        "QUIET-HOURS",
    ]
    sync = next(line for line in lines if line.startswith("auto_stash_sync"))
    assert "5 min" in sync and "01:00-07:00 UTC" in sync
    test = next(line for line in lines if line.startswith("test "))
    assert "(soft)" in test
    call_command("daemonctl", "resume", "--all", stdout=StringIO())
    assert row().paused_at is None


# --- the loop, one step at a time ------------------------------------------------------------------------


def test_a_paused_daemon_says_so_starts_nothing_and_is_not_stale(rows, frozen):
    services.save_fields(row().pk, desired_state=DesiredState.RUNNING, actual_state=ActualState.RUNNING)
    pause.pause(row(), by="admin")
    subject = loop(launch_jobs=True)
    assert step(subject) == pause.PAUSED_WAIT_SECONDS
    daemon = row()
    assert daemon.current_status == "Paused since 10:00 (by admin)"
    assert daemon.status_next_at is None
    assert not Job.objects.exists() and subject.iteration == 0
    frozen.shift(3 * 3600)
    services.save_fields(daemon.pk, lease_owner="x", heartbeat_at=timezone.now())
    assert not services.is_stale(row())  # hours later, with its host alive
    # Resume: the next step is a cycle again, recorded on the row.
    subject.apply_pause(None)
    step(subject)
    assert subject.iteration == 1 and Job.objects.filter(created_by="test").count() == 1
    assert row().cycle_started_at is not None  # it watches the job it launched: the cycle goes on


def test_a_paused_daemon_follows_its_job_to_the_end_then_starts_nothing(rows, frozen):
    subject = loop(launch_jobs=True, job_every=1, interval_seconds=5)
    step(subject)  # launches and watches a test job
    job = subject.watching
    assert job is not None
    subject.pause = pause.state_of(pause.pause(row(), by="admin"))
    assert step(subject) == 1.0  # still following it
    assert row().current_status.startswith("Waiting for test job")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED, finished_at=timezone.now())
    step(subject)  # sees its end; would rest, then launch again
    assert Job.objects.get(pk=job.pk).status == JobStatus.COMPLETED  # never cancelled
    assert step(subject) == pause.PAUSED_WAIT_SECONDS
    assert row().current_status == "Paused since 10:00 (by admin)"
    assert Job.objects.count() == 1


def test_resume_continues_a_rest_where_it_was(rows, frozen):
    subject = loop("auto_plan_applier", job_interval_seconds=600)
    assert step(subject) == 600  # no plans: it rests until news or the interval
    resting = row("auto_plan_applier").current_status
    assert subject.resting is not None
    subject.pause = pause.state_of(pause.pause(row("auto_plan_applier"), by="admin"))
    step(subject)
    assert row("auto_plan_applier").current_status == "Paused since 10:00 (by admin)"
    frozen.shift(100)
    subject.apply_pause(None)
    assert step(subject) == 500  # what was left of the rest, not a new cycle
    daemon = row("auto_plan_applier")
    assert daemon.current_status == resting
    assert daemon.status_next_at == timezone.now() + timedelta(seconds=500)


def test_outside_quiet_hours_it_starts_nothing_and_says_until_when(rows, frozen):
    subject = loop(launch_jobs=True, quiet_hours="01:00-07:00")
    wait = step(subject)
    assert wait == 15 * 3600  # 10:00 → 01:00 tomorrow
    daemon = row()
    assert daemon.current_status == "Quiet hours until 01:00"
    assert daemon.status_next_at == datetime.fromisoformat("2026-03-03T01:00:00+00:00")
    assert not Job.objects.exists() and subject.iteration == 0
    frozen.move_to("2026-03-03T01:00:00+00:00", tick=False)
    step(subject)
    assert subject.iteration == 1 and Job.objects.filter(created_by="test").exists()


def test_a_job_launch_outside_quiet_hours_is_held(rows, frozen):
    # The window closes while a step runs: the launch is refused and the daemon says why.
    subject = loop(launch_jobs=True, quiet_hours="09:00-10:00")
    step(subject)
    assert row().current_status == "Quiet hours until 09:00"
    assert not Job.objects.exists()


def test_cycles_are_recorded_with_start_end_and_the_schedule_shows_them(rows, frozen):
    services.update_configuration(row(), {"launch_jobs": False, "interval_seconds": 300}, partial=True)
    subject = loop()
    step(subject)
    daemon = row()
    assert daemon.last_cycle_started_at == timezone.now() and daemon.last_cycle_ended_at == timezone.now()
    assert daemon.cycle_started_at is None
    services.save_fields(daemon.pk, actual_state=ActualState.RUNNING)
    plan = schedule.schedule_of(row())
    assert plan.interval_seconds == 300 and plan.last_cycle_seconds == 0
    assert plan.next_run_at == timezone.now() + timedelta(seconds=300)
    state = schedule.state(row())["schedule"]
    assert state["interval_seconds"] == 300 and state["next_run_at"] == "2026-03-02T10:05:00+00:00"


def test_a_hard_pause_cancels_the_job_it_watches_and_resume_starts_a_cycle_at_once(rows, frozen, stash_emulator):
    from stash.connection.config import get_client
    from stash.models import Scene
    from stash.sync.run import SyncOptions, SyncRun

    SyncRun(get_client(), SyncOptions(full=True)).run()
    Scene.objects.update(generated=True)
    Scene.objects.filter(pk__in=[3, 4]).update(generated=False)
    subject = loop("auto_stash_generation")
    step(subject)
    job = subject.watching
    assert job is not None and job.type == "stash_generate"
    subject.pause = pause.state_of(pause.pause(row("auto_stash_generation"), "hard", by="admin"))
    step(subject)
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED  # pending: cancelled at once
    step(subject)
    assert row("auto_stash_generation").current_status.startswith("Paused since 10:00 (by admin)")
    actions = list(job.daemon_history.order_by("id").values_list("action", "reason"))
    assert actions[1] == (JobAction.CANCELLED, "Hard pause by admin")
    subject.apply_pause(None)
    step(subject)  # no waiting out the interval: a new generation for what is missing
    [again] = Job.objects.filter(type="stash_generate").exclude(pk=job.pk)
    assert again.status == JobStatus.PENDING and again.parameters["overwrite"] is False


def test_a_hard_pause_found_at_start_cancels_the_generation_the_daemon_had_started(rows, frozen):
    # The host restarted (or was down) while generation ran and a hard pause was asked for: the fresh
    # loop watches nothing yet, but what it launched is still active.
    from jobs.services import create_job

    running = create_job("stash_generate", {"scene_ids": [1]}, created_by="auto_stash_generation")
    pause.pause(row("auto_stash_generation"), "hard", by="admin")
    subject = loop("auto_stash_generation")
    assert step(subject) == pause.PAUSED_WAIT_SECONDS
    assert Job.objects.get(pk=running.pk).status == JobStatus.CANCELLED
    assert row("auto_stash_generation").current_status.startswith("Paused since 10:00 (by admin)")
    assert subject.pause_stopped_job  # so Resume starts a generation at once
    assert step(subject) == pause.PAUSED_WAIT_SECONDS  # and it does not look again
    assert Job.objects.filter(type="stash_generate").count() == 1
