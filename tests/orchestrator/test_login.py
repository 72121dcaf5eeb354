"""Login on every page and CSRF on every form: anonymous visitors and tokenless posts change nothing."""

from django.test import Client

from daemons.models import Daemon, DesiredState
from jobs.models import Job, JobStatus
from jobs.services import create_job
from tests.pages import finished_job

# --- login and CSRF --------------------------------------------------------------------------------


def page_urls(daemon, job):
    return ["/daemons/", f"/daemons/{daemon.name}/", "/jobs/", f"/jobs/{job.pk}/", "/jobs/run/", "/jobs/run/?type=test"]


def post_urls(daemon, job):
    base = f"/daemons/{daemon.name}/"
    return [
        base + "start/",
        base + "stop/",
        base + "restart/",
        base + "auto-start/",
        base + "config/",
        base + "config/raw/",
        base + "config/reset/",
        "/daemons/start-all/",
        "/daemons/stop-all/",
        "/daemons/restart-all/",
        f"/jobs/{job.pk}/cancel/",
        f"/jobs/{job.pk}/retry/",
        "/jobs/run/",
    ]


def test_anonymous_visitors_are_sent_to_login_from_every_page(client, daemon):
    job = create_job("test", {})
    for url in page_urls(daemon, job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_anonymous_posts_are_sent_to_login_and_change_nothing(client, daemon):
    job = finished_job(status=JobStatus.FAILED)
    before = Daemon.objects.values().get(pk=daemon.pk)
    for url in post_urls(daemon, job):
        response = client.post(url, {"auto_start": "on", "type": "test", "configuration": "{}"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url
    assert Daemon.objects.values().get(pk=daemon.pk) == before
    assert Job.objects.count() == 1


def test_logged_in_pages_render(browser, daemon):
    job = create_job("test", {})
    for url in page_urls(daemon, job):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert "Live updates are down" in response.content.decode()


def test_a_post_without_csrf_token_is_refused(user, daemon):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(f"/daemons/{daemon.name}/start/")
    assert response.status_code == 403
    daemon.refresh_from_db()
    assert daemon.desired_state == DesiredState.STOPPED


def test_mutating_endpoints_refuse_get(browser, daemon):
    response = browser.get(f"/daemons/{daemon.name}/start/")
    assert response.status_code == 405
    daemon.refresh_from_db()
    assert daemon.desired_state == DesiredState.STOPPED


def test_login_page_logs_in(client, user):
    page = client.get("/login/")
    assert page.status_code == 200 and "Log in" in page.content.decode()
    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/daemons/").status_code == 200
