from django.urls import path

from jobs import download_actions, plan_actions, scene_actions, views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("run/", views.job_run, name="run"),
    path("from-scenes/", scene_actions.scene_action, name="scene_action"),
    path("apply-plan/<int:plan_id>/", plan_actions.apply_plan, name="apply_plan"),
    path("process-downloads/", download_actions.process_now, name="process_downloads"),
    path("<uuid:pk>/", views.job_detail, name="detail"),
    path("<uuid:pk>/cancel/", views.job_cancel, name="cancel"),
    path("<uuid:pk>/retry/", views.job_retry, name="retry"),
]
