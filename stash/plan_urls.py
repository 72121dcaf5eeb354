from django.urls import path

from stash import plan_views

app_name = "plans"
urlpatterns = [
    path("", plan_views.plan_list, name="list"),
    path("<int:pk>/", plan_views.plan_detail, name="detail"),
    path("<int:pk>/review/", plan_views.plan_review, name="review"),
    path("<int:pk>/cancel/", plan_views.plan_cancel, name="cancel"),
    path("changes/<int:pk>/edit/", plan_views.change_edit, name="change_edit"),
]
