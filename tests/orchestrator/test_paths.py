import uuid

from django.urls import reverse

from orchestrator.paths import daemon_path, job_path, plan_path, plans_path, qbittorrent_settings_path


def test_daemon_path_matches_the_urlconf():
    assert daemon_path("auto_stash_sync") == reverse("daemons:detail", args=["auto_stash_sync"])


def test_job_path_matches_the_urlconf():
    job_id = uuid.uuid4()
    assert job_path(job_id) == reverse("jobs:detail", args=[job_id])


def test_plan_path_matches_the_urlconf():
    assert plan_path(42) == reverse("plans:detail", args=[42])


def test_plans_path_matches_the_urlconf():
    assert plans_path() == reverse("plans:list")


def test_qbittorrent_settings_path_matches_the_urlconf():
    assert qbittorrent_settings_path() == reverse("downloads:settings")


def test_the_health_and_settings_paths_match_the_urlconf():
    from orchestrator import paths

    assert paths.health_path() == reverse("health:page")
    assert paths.notifications_settings_path() == reverse("health:notifications")
    assert paths.stash_settings_path() == reverse("connection:settings")
    assert paths.video_analysis_settings_path() == reverse("analysis:settings")
    assert paths.downloads_path() == reverse("downloads:list")
    assert paths.daemons_path() == reverse("daemons:list")
    assert paths.jobs_path() == reverse("jobs:list")
