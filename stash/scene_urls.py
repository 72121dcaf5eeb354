from django.urls import path

from stash import scene_views

app_name = "scenes"
urlpatterns = [
    path("", scene_views.scene_list, name="list"),
    path("<int:pk>/", scene_views.scene_detail, name="detail"),
]
