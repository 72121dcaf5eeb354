from django.urls import path

from health import views
from health.notifications import views as notification_views

app_name = "health"
urlpatterns = [
    path("health/", views.health_page, name="page"),
    path("health/<slug:name>/check/", views.check_now, name="check_now"),
    path("settings/notifications/", notification_views.notifications_page, name="notifications"),
    path("settings/notifications/<int:pk>/", notification_views.edit_target, name="notification_edit"),
    path("settings/notifications/<int:pk>/delete/", notification_views.delete_target, name="notification_delete"),
    path("settings/notifications/<int:pk>/test/", notification_views.test_target, name="notification_test"),
]
