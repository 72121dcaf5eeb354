from django.urls import path

from stash.analysis import views

app_name = "analysis"
urlpatterns = [
    path("settings/video-analysis/", views.video_analysis_settings, name="settings"),
    path("settings/video-analysis/test/", views.video_analysis_test, name="settings_test"),
]
