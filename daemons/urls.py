from django.urls import path

from daemons import views

app_name = "daemons"
urlpatterns = [
    path("", views.daemon_list, name="list"),
    path("<slug:name>/", views.daemon_detail, name="detail"),
]
