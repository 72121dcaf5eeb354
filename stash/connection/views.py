"""Stash pages: the Settings page (how to reach Stash, path mappings, scan defaults).

Validation and the reachability check live in forms.py and config.py; the views translate HTTP.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from stash.connection import config
from stash.connection.errors import StashError
from stash.connection.forms import StashSettingsForm
from stash.connection.models import StashSettings


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    row = StashSettings.load()
    if request.method == "POST":
        form = StashSettingsForm(request.POST, instance=row)
        if form.is_valid():
            form.save()
            messages.success(request, "Stash settings saved.")
            return redirect("connection:settings")
        return _render(request, form, status=400)
    return _render(request, StashSettingsForm(instance=row))


@login_required
@require_POST
def settings_test(request):
    """Test the values in the form without saving them (an empty URL field tests the effective connection)."""
    form = StashSettingsForm(request.POST, instance=StashSettings.load(), check_reachable=False)
    connection = form.candidate_connection()
    if connection is None:
        return _render(request, form, status=400)
    try:
        version = config.check_connection(connection)
    except StashError as exc:
        test = {"ok": False, "url": connection.url, "error": str(exc)}
    else:
        test = {"ok": True, "url": connection.url, "version": version}
    # The page shows the submitted values again, unsaved, with the result above them.
    return _render(request, form, test=test)


def _render(request, form, *, test=None, status=200):
    row = StashSettings.load()
    connection = config.effective_connection(row)
    context = {
        "form": form,
        "test": test,
        "connection": connection,
        "key_mask": config.mask_key(connection.api_key),
        "updated_at": row.updated_at,
    }
    return render(request, "stash/connection/settings.html", context, status=status)
