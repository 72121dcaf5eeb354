from django.urls import path

from stash import download_views

app_name = "downloads"
urlpatterns = [
    path("", download_views.downloads, name="list"),
]
