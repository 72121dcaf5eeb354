"""Roles: staff accounts change things; every other account reads. A non-staff POST to any page button gets
403 with a clear message, the API answers 403, nothing changes; the pages say so and disable the buttons."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import get_resolver
from rest_framework.test import APIClient

from daemons.models import Daemon
from health.models import HealthCheck
from health.notifications.models import Notification, NotificationTarget
from jobs.models import Job, JobStatus
from stash import plans
from stash.analysis.models import VideoAnalysisSettings
from stash.connection.models import StashSettings
from stash.downloads.models import QBittorrentSettings
from stash.plans.models import AnalysisPlan, PlanChange
from tests.pages import finished_job

pytestmark = pytest.mark.django_db

READ_ONLY_MESSAGE = "Your account can look but not change anything"


@pytest.fixture
def viewer(db):
    return User.objects.create_user("viewer", password="viewer-password-1")


@pytest.fixture
def things(daemon):
    job = finished_job(status=JobStatus.FAILED)
    plan = plans.create_plan("Plan")
    plans.add_changes(plan, 1, [{"field": "tags", "action": "add", "current_value": None, "proposed_value": "Kiss_AI"}])
    change = PlanChange.objects.get(plan=plan)
    target = NotificationTarget.objects.create(name="phone", url="json://127.0.0.1:1/", events=["job_failed"])
    return {"daemon": daemon.name, "job": job.pk, "plan": plan.pk, "change": change.pk, "target": target.pk}


def state() -> dict:
    """Everything a POST could change, to compare before and after."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (
            Daemon,
            Job,
            AnalysisPlan,
            PlanChange,
            StashSettings,
            VideoAnalysisSettings,
            QBittorrentSettings,
            HealthCheck,
            NotificationTarget,
            Notification,
        )
    }


# Every page button and form, with a body that a staff account could send. The route test below checks
# that this list covers every route that accepts POST.
PAGE_POSTS = [
    ("/daemons/{daemon}/start/", {}),
    ("/daemons/{daemon}/stop/", {}),
    ("/daemons/{daemon}/restart/", {}),
    ("/daemons/{daemon}/auto-start/", {"auto_start": "on"}),
    ("/daemons/{daemon}/config/", {"interval_seconds": "1"}),
    ("/daemons/{daemon}/config/raw/", {"configuration": "{}"}),
    ("/daemons/{daemon}/config/reset/", {}),
    ("/daemons/start-all/", {}),
    ("/daemons/stop-all/", {}),
    ("/daemons/restart-all/", {}),
    ("/daemons/pause-all/", {}),
    ("/daemons/resume-all/", {}),
    ("/daemons/{daemon}/pause/", {}),
    ("/daemons/{daemon}/resume/", {}),
    ("/daemons/{daemon}/run-now/", {}),
    ("/jobs/run/", {"type": "test"}),
    ("/jobs/{job}/cancel/", {}),
    ("/jobs/{job}/retry/", {}),
    ("/scenes/action/", {"action": "sync"}),
    ("/plans/{plan}/review/", {"status": "approved"}),
    ("/plans/{plan}/cancel/", {}),
    ("/plans/{plan}/apply/", {}),
    ("/plans/changes/{change}/edit/", {"proposed_value": "Hug_AI"}),
    ("/plans/changes/{change}/use-existing/", {}),
    ("/settings/", {"url": "http://127.0.0.1:1/"}),
    ("/settings/test/", {"url": "http://127.0.0.1:1/"}),
    ("/settings/video-analysis/", {"tagger_url": "http://127.0.0.1:1/"}),
    ("/settings/video-analysis/test/", {"tagger_url": "http://127.0.0.1:1/"}),
    ("/downloads/process/", {}),
    ("/settings/qbittorrent/", {"url": "http://127.0.0.1:1/"}),
    ("/settings/qbittorrent/test/", {"url": "http://127.0.0.1:1/"}),
    ("/health/{daemon}/check/", {}),
    ("/settings/notifications/", {"url": "json://127.0.0.1:1/", "events": ["job_failed"]}),
    ("/settings/notifications/{target}/", {"name": "renamed", "events": ["job_failed"]}),
    ("/settings/notifications/{target}/delete/", {}),
    ("/settings/notifications/{target}/test/", {}),
]

API_CHANGES = [
    ("post", "/api/daemons/{daemon}/start/", {}),
    ("post", "/api/daemons/{daemon}/stop/", {}),
    ("post", "/api/daemons/{daemon}/restart/", {}),
    ("patch", "/api/daemons/{daemon}/", {"auto_start": True}),
    ("put", "/api/daemons/{daemon}/", {"configuration": {}}),
    ("post", "/api/daemons/start-all/", {}),
    ("post", "/api/daemons/stop-all/", {}),
    ("post", "/api/daemons/restart-all/", {}),
    ("post", "/api/daemons/pause-all/", {}),
    ("post", "/api/daemons/resume-all/", {}),
    ("post", "/api/daemons/{daemon}/pause/", {"mode": "soft"}),
    ("post", "/api/daemons/{daemon}/resume/", {}),
    ("post", "/api/daemons/{daemon}/run-now/", {}),
    ("post", "/api/jobs/", {"type": "test", "parameters": {}}),
    ("post", "/api/jobs/{job}/cancel/", {}),
    ("post", "/api/jobs/{job}/retry/", {}),
    ("post", "/api/plans/{plan}/review/", {"status": "approved"}),
    ("post", "/api/plans/{plan}/cancel/", {}),
    ("patch", "/api/plan-changes/{change}/", {"status": "approved"}),
    ("patch", "/api/settings/stash/", {"url": "http://127.0.0.1:1/"}),
    ("post", "/api/settings/stash/test/", {"url": "http://127.0.0.1:1/"}),
    ("put", "/api/settings/video-analysis/", {"tagger_url": "http://127.0.0.1:1/"}),
    ("patch", "/api/settings/video-analysis/", {"tagger_url": "http://127.0.0.1:1/"}),
    ("patch", "/api/settings/qbittorrent/", {"category": "other"}),
    ("post", "/api/health/{daemon}/check/", {}),
    ("post", "/api/notifications/", {"url": "json://127.0.0.1:1/", "events": ["job_failed"]}),
    ("patch", "/api/notifications/{target}/", {"name": "renamed"}),
    ("put", "/api/notifications/{target}/", {"url": "json://127.0.0.1:2/", "events": []}),
    ("delete", "/api/notifications/{target}/", {}),
    ("post", "/api/notifications/{target}/test/", {}),
]

READ_PAGES = [
    "/daemons/",
    "/daemons/{daemon}/",
    "/jobs/",
    "/jobs/run/?type=test",
    "/jobs/{job}/",
    "/scenes/",
    "/plans/",
    "/plans/{plan}/",
    "/downloads/",
    "/settings/",
    "/settings/video-analysis/",
    "/settings/qbittorrent/",
    "/activity/",
    "/daemons/{daemon}/timeline/",
    "/health/",
    "/settings/notifications/",
]


@pytest.mark.parametrize("url, body", PAGE_POSTS, ids=[u for u, _ in PAGE_POSTS])
def test_a_non_staff_account_cannot_post_any_page_button(viewer, things, url, body):
    client = Client()
    client.force_login(viewer)
    before = state()
    response = client.post(url.format(**things), body)
    assert response.status_code == 403
    assert READ_ONLY_MESSAGE in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("method, url, body", API_CHANGES, ids=[f"{m} {u}" for m, u, _ in API_CHANGES])
def test_a_non_staff_account_cannot_change_anything_through_the_api(viewer, things, method, url, body):
    api = APIClient()
    api.force_authenticate(viewer)
    before = state()
    response = getattr(api, method)(url.format(**things), body, format="json")
    assert response.status_code == 403
    assert READ_ONLY_MESSAGE in response.json()["detail"]
    assert state() == before


def test_a_non_staff_account_still_reads_every_page_and_the_api(viewer, things):
    client = Client()
    client.force_login(viewer)
    for url in READ_PAGES:
        assert client.get(url.format(**things)).status_code == 200, url
    api = APIClient()
    api.force_authenticate(viewer)
    for url in ["/api/daemons/", "/api/jobs/", "/api/plans/", "/api/settings/stash/", "/api/schema/"]:
        assert api.get(url).status_code == 200, url


def test_a_staff_account_still_changes_things(user, things):
    client = Client()
    client.force_login(user)
    response = client.post(f"/daemons/{things['daemon']}/start/")
    assert response.status_code == 302
    assert Daemon.objects.get(name=things["daemon"]).desired_state == "running"
    api = APIClient()
    api.force_authenticate(user)
    assert api.post("/api/jobs/", {"type": "test", "parameters": {}}, format="json").status_code == 201


def test_a_read_only_page_says_so_and_marks_its_buttons(viewer, things):
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/daemons/{things['daemon']}/").content.decode()
    assert READ_ONLY_MESSAGE in page
    assert "data-read-only" in page
    assert "js/read-only.js" in page  # disables every POST form's controls (checked in Chromium too)
    staff = Client()
    staff.force_login(User.objects.create_user("staffer", password="staff-password-1", is_staff=True))
    page = staff.get(f"/daemons/{things['daemon']}/").content.decode()
    assert READ_ONLY_MESSAGE not in page and "data-read-only" not in page


def test_the_admin_still_refuses_non_staff_accounts(viewer):
    client = Client()
    client.force_login(viewer)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def _routes(resolver, prefix=""):
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if hasattr(entry, "url_patterns"):
            if not pattern.startswith("admin/"):  # the admin checks staff itself
                yield from _routes(entry, pattern)
        else:
            yield "/" + pattern


def test_the_tables_cover_every_route_that_accepts_changes():
    """A new POST route must join PAGE_POSTS or API_CHANGES (and so be checked for staff)."""
    placeholders = {
        "<slug:name>": "{daemon}",
        "<str:job_id>": "{job}",
        "<uuid:pk>": "{job}",
    }
    covered = {u for u, _ in PAGE_POSTS} | {u for _, u, _ in API_CHANGES}
    read_only = {"/", "/favicon.ico", "/login/", "/logout/", "/api/schema/", "/api/docs/"}
    read_only |= {u.split("?")[0] for u in READ_PAGES}
    read_only |= {"/api/daemons/", "/api/daemons/{daemon}/logs/", "/api/daemons/{daemon}/history/", "/api/plans/"}
    read_only |= {"/api/jobs/{job}/", "/api/plans/{plan}/", "/scenes/<int:pk>/", "/scenes/<int:pk>/cover/"}
    read_only |= {"/api/health/", "/api/health/{daemon}/", "/api/notifications/outbox/"}
    read_only |= {"/api/", "/api/scenes/", "/api/scenes/<str:pk>/", "/api/downloads/", "/api/downloads/<str:pk>/"}
    for route in _routes(get_resolver()):
        for old, new in placeholders.items():
            route = route.replace(old, new)
        if route.startswith("/plans/changes/"):
            route = route.replace("<int:pk>", "{change}")
        elif route.startswith(("/plans/", "/api/plans/")):
            route = route.replace("<int:pk>", "{plan}")
        elif route.startswith(("/settings/notifications/", "/api/notifications/")):
            route = route.replace("<int:pk>", "{target}")
        elif route.startswith("/api/plan-changes/"):
            route = route.replace("<int:pk>", "{change}")
        assert route in covered or route in read_only, f"{route} is in neither table"
