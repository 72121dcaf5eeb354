from django.urls import path

from daemons import views
from daemons.timeline_views import daemon_timeline

app_name = "daemons"
urlpatterns = [
    path("", views.daemon_list, name="list"),
    # The bulk routes come before "<name>/…": "start-all" is a valid slug.
    path("start-all/", views.bulk_action, {"action": "start"}, name="start_all"),
    path("stop-all/", views.bulk_action, {"action": "stop"}, name="stop_all"),
    path("restart-all/", views.bulk_action, {"action": "restart"}, name="restart_all"),
    path("pause-all/", views.bulk_action, {"action": "pause"}, name="pause_all"),
    path("resume-all/", views.bulk_action, {"action": "resume"}, name="resume_all"),
    path("<slug:name>/", views.daemon_detail, name="detail"),
    path("<slug:name>/timeline/", daemon_timeline, name="timeline"),
    path("<slug:name>/start/", views.daemon_action, {"action": "start"}, name="start"),
    path("<slug:name>/stop/", views.daemon_action, {"action": "stop"}, name="stop"),
    path("<slug:name>/restart/", views.daemon_action, {"action": "restart"}, name="restart"),
    path("<slug:name>/pause/", views.pause_daemon, name="pause"),
    path("<slug:name>/resume/", views.resume_daemon, name="resume"),
    path("<slug:name>/run-now/", views.run_now, name="run_now"),
    path("<slug:name>/auto-start/", views.auto_start, name="auto_start"),
    path("<slug:name>/config/", views.config_save, name="config"),
    path("<slug:name>/config/raw/", views.config_raw, name="config_raw"),
    path("<slug:name>/config/reset/", views.config_reset, name="config_reset"),
]
