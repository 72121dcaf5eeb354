"""Routes of the DRF API under /api/ (session and token auth, login required everywhere)."""

from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from daemons import api as daemons_api
from health import api as health_api
from health.notifications import api as notify_api
from jobs import api as jobs_api
from orchestrator.api_index import ApiIndex, SchemaView
from stash.analysis import api as analysis_api
from stash.connection import api as stash_api
from stash.downloads import api as downloads_api
from stash.plans import api as plan_api
from stash.scenes import api as scenes_api

urlpatterns = [
    path("", ApiIndex.as_view(), name="api-index"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its init script from /api/docs/?script= instead of inline: the
    # Content-Security-Policy allows scripts from this origin only, not inline ones.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("daemons/", daemons_api.DaemonList.as_view(), name="api-daemon-list"),
    # The bulk routes come before "<name>/": "start-all" is a valid daemon slug and would otherwise be
    # taken for a daemon's name.
    path("daemons/start-all/", daemons_api.StartAll.as_view(), name="api-daemon-start-all"),
    path("daemons/stop-all/", daemons_api.StopAll.as_view(), name="api-daemon-stop-all"),
    path("daemons/restart-all/", daemons_api.RestartAll.as_view(), name="api-daemon-restart-all"),
    path("daemons/pause-all/", daemons_api.PauseAll.as_view(), name="api-daemon-pause-all"),
    path("daemons/resume-all/", daemons_api.ResumeAll.as_view(), name="api-daemon-resume-all"),
    path("daemons/<slug:name>/", daemons_api.DaemonDetail.as_view(), name="api-daemon-detail"),
    path("daemons/<slug:name>/start/", daemons_api.DaemonAction.as_view(operation="start"), name="api-daemon-start"),
    path("daemons/<slug:name>/stop/", daemons_api.DaemonAction.as_view(operation="stop"), name="api-daemon-stop"),
    path(
        "daemons/<slug:name>/restart/",
        daemons_api.DaemonAction.as_view(operation="restart"),
        name="api-daemon-restart",
    ),
    path("daemons/<slug:name>/pause/", daemons_api.DaemonPause.as_view(), name="api-daemon-pause"),
    path("daemons/<slug:name>/resume/", daemons_api.DaemonResume.as_view(), name="api-daemon-resume"),
    path("daemons/<slug:name>/run-now/", daemons_api.DaemonRunNow.as_view(), name="api-daemon-run-now"),
    path("daemons/<slug:name>/logs/", daemons_api.DaemonLogs.as_view(), name="api-daemon-logs"),
    path("daemons/<slug:name>/history/", daemons_api.DaemonHistory.as_view(), name="api-daemon-history"),
    path("jobs/", jobs_api.JobList.as_view(), name="api-job-list"),
    # <str:…> rather than <uuid:…>: a malformed id gets the API's JSON 404, not the HTML one.
    path("jobs/<str:job_id>/", jobs_api.JobDetail.as_view(), name="api-job-detail"),
    path("jobs/<str:job_id>/cancel/", jobs_api.JobCancel.as_view(), name="api-job-cancel"),
    path("jobs/<str:job_id>/retry/", jobs_api.JobRetry.as_view(), name="api-job-retry"),
    path("plans/", plan_api.PlanList.as_view(), name="api-plan-list"),
    path("plans/<int:pk>/", plan_api.PlanDetail.as_view(), name="api-plan-detail"),
    path("plans/<int:pk>/review/", plan_api.PlanReview.as_view(), name="api-plan-review"),
    path("plans/<int:pk>/cancel/", plan_api.PlanCancel.as_view(), name="api-plan-cancel"),
    path("plan-changes/<int:pk>/", plan_api.ChangeDetail.as_view(), name="api-plan-change"),
    path("scenes/", scenes_api.SceneList.as_view(), name="api-scene-list"),
    path("scenes/<str:pk>/", scenes_api.SceneDetail.as_view(), name="api-scene-detail"),
    path("downloads/", downloads_api.DownloadList.as_view(), name="api-download-list"),
    path("downloads/<str:pk>/", downloads_api.DownloadDetail.as_view(), name="api-download-detail"),
    path("settings/stash/", stash_api.StashSettingsView.as_view(), name="api-stash-settings"),
    path("settings/qbittorrent/", downloads_api.QBittorrentSettingsView.as_view(), name="api-qbittorrent-settings"),
    path("settings/stash/test/", stash_api.StashConnectionTest.as_view(), name="api-stash-settings-test"),
    path("health/", health_api.HealthList.as_view(), name="api-health"),
    path("health/<slug:name>/", health_api.HealthDetail.as_view(), name="api-health-detail"),
    path("health/<slug:name>/check/", health_api.HealthCheckNow.as_view(), name="api-health-check"),
    path("notifications/", notify_api.TargetList.as_view(), name="api-notification-list"),
    path("notifications/outbox/", notify_api.Outbox.as_view(), name="api-notification-outbox"),
    path("notifications/<int:pk>/", notify_api.TargetDetail.as_view(), name="api-notification-detail"),
    path("notifications/<int:pk>/test/", notify_api.TargetTest.as_view(), name="api-notification-test"),
    path(
        "settings/video-analysis/",
        analysis_api.VideoAnalysisSettingsView.as_view(),
        name="api-video-analysis-settings",
    ),
]
