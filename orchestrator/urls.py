from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from jobs.activity_views import activity_page

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="daemons:list", permanent=False)),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, JSON answers): a public asset.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("orchestrator.api_urls")),
    path("daemons/", include("daemons.urls")),
    path("jobs/", include("jobs.urls")),
    path("activity/", activity_page, name="activity"),
    path("scenes/", include("stash.scenes.urls")),
    path("plans/", include("stash.plans.urls")),
    # The features below serve /settings/<feature>/ beside their own pages, so their URL confs carry full paths.
    path("", include("stash.connection.urls")),
    path("", include("stash.analysis.urls")),
    path("", include("stash.downloads.urls")),
    path("", include("health.urls")),
]
