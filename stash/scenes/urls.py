from django.urls import path

from stash.scenes import views

app_name = "scenes"
urlpatterns = [
    path("", views.scene_list, name="list"),
    path("action/", views.scene_action, name="action"),
    path("<int:pk>/", views.scene_detail, name="detail"),
    path("<int:pk>/cover/", views.scene_cover, name="cover"),
]
