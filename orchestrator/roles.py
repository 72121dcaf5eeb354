"""Roles: staff accounts change things, every other account only reads.

"Changes" are every unsafe request (POST, PUT, PATCH, DELETE): settings, their Test buttons, daemon
control, job creation, cancel and retry, plan reviews and applies, "Process now". One rule at the edge
instead of a check per view, so a new button is covered the day it is added:
- pages: `ReadOnlyForNonStaff` (middleware) answers 403 with a page that says why;
- API: `StaffForChanges` (DRF's default permission, beside IsAuthenticated) answers 403 in JSON.
Anonymous requests pass through to the login checks (redirect / 401). The admin has its own staff
check, and logging in or out is no change.
"""

from django.shortcuts import render
from rest_framework.permissions import SAFE_METHODS, BasePermission

READ_ONLY_MESSAGE = (
    "Your account can look but not change anything: settings, daemon control, jobs, plan reviews and "
    "downloads need a staff account. An administrator can tick “Staff status” for you in the admin."
)
# Paths whose POSTs are not changes to the product's state (or that guard themselves).
EXEMPT_PREFIXES = ("/login/", "/logout/", "/admin/", "/api/")


def can_change(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def is_read_only(user) -> bool:
    return bool(user and user.is_authenticated and not can_change(user))


class StaffForChanges(BasePermission):
    message = READ_ONLY_MESSAGE

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or can_change(request.user)


class ReadOnlyForNonStaff:
    """Refuses page POSTs from signed-in accounts without staff status (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in SAFE_METHODS
            and not request.path.startswith(EXEMPT_PREFIXES)
            and is_read_only(request.user)
        ):
            return render(request, "read_only.html", {"message": READ_ONLY_MESSAGE}, status=403)
        return self.get_response(request)
