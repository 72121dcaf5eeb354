"""What a locked-out login gets (django-axes' AXES_LOCKOUT_CALLABLE): the same login page, with the reason.

Axes' own answer is a bare text page; ours re-renders the login page the attempt came to (ours or the
admin's) with the message as the form's error, status 429, so the operator sees why and for how long.
Every refused attempt during a lockout restarts the cool-off (axes' default), so the full
LOGIN_LOCKOUT_MINUTES is exactly how long from now.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import ErrorDict
from django.shortcuts import render
from django.urls import reverse

NON_FIELD = "__all__"


def lockout_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed logins for this account from your address; try again in {minutes} {unit}."


def _refused_form(form_class, request):
    # A bound form whose errors are set up front: rendering it must not run authenticate() again.
    form = form_class(request, data=request.POST)
    form._errors = ErrorDict({NON_FIELD: form.error_class([lockout_message()])})
    form.cleaned_data = {}
    return form


def lockout_response(request, original_response=None, credentials=None):
    next_url = request.POST.get("next", "")
    if request.path == reverse("admin:login"):
        context = {
            **admin.site.each_context(request),
            "form": _refused_form(AdminAuthenticationForm, request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "next": next_url,
            "username": request.POST.get("username", ""),
        }
        return render(request, "admin/login.html", context, status=429)
    context = {"form": _refused_form(AuthenticationForm, request), "next": next_url, "locked_out": True}
    return render(request, "registration/login.html", context, status=429)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check, for logins that come with a request (both login pages). A login without one (a
    management command, the test client's login()) has no address to throttle: axes would refuse it with
    an exception, this lets the next backend decide."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
