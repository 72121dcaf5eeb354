from django.urls import path

from stash.plans import views

app_name = "plans"
urlpatterns = [
    path("", views.plan_list, name="list"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/review/", views.plan_review, name="review"),
    path("<int:pk>/cancel/", views.plan_cancel, name="cancel"),
    path("<int:pk>/apply/", views.apply_plan, name="apply"),
    path("changes/<int:pk>/edit/", views.change_edit, name="change_edit"),
    path("changes/<int:pk>/use-existing/", views.change_use_existing, name="change_use_existing"),
]
