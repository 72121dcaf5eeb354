from django.urls import path

from stash.connection import views

app_name = "connection"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/test/", views.settings_test, name="settings_test"),
]
