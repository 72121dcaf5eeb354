from django.urls import path

from stash.downloads import views

app_name = "downloads"
urlpatterns = [
    path("downloads/", views.downloads, name="list"),
    path("downloads/process/", views.process_now, name="process"),
    path("settings/qbittorrent/", views.qbittorrent_settings, name="settings"),
    path("settings/qbittorrent/test/", views.qbittorrent_test, name="settings_test"),
]
