from django.urls import path

from stash import analysis_views, download_views, views

app_name = "stash"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/test/", views.settings_test, name="settings_test"),
    path("settings/qbittorrent/", download_views.qbittorrent_settings, name="qbittorrent_settings"),
    path("settings/qbittorrent/test/", download_views.qbittorrent_test, name="qbittorrent_test"),
    path("settings/video-analysis/", analysis_views.video_analysis_settings, name="video_analysis_settings"),
    path("settings/video-analysis/test/", analysis_views.video_analysis_test, name="video_analysis_test"),
]
