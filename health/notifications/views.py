"""The notifications settings page (/settings/notifications/): add, edit, delete URLs; Send test."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connections
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from health.notifications.forms import TargetForm
from health.notifications.models import DeliveryStatus, Notification, NotificationTarget
from health.notifications.sender import send
from orchestrator.notify import EVENTS

RECENT = 20


@login_required
@require_http_methods(["GET", "POST"])
def notifications_page(request):
    if request.method == "POST":
        form = TargetForm(request.POST)
        if form.is_valid():
            target = form.save()
            messages.success(request, f"Added {target} ({target.masked_url}). Use Send test to try it.")
            return redirect("health:notifications")
        return _render(request, form, status=400)
    return _render(request, TargetForm())


@login_required
@require_http_methods(["GET", "POST"])
def edit_target(request, pk: int):
    target = get_object_or_404(NotificationTarget, pk=pk)
    if request.method == "POST":
        form = TargetForm(request.POST, instance=target)
        if form.is_valid():
            form.save()
            messages.success(request, f"Saved {target}.")
            return redirect("health:notifications")
        return _render(request, TargetForm(), edit=(target, form), status=400)
    return _render(request, TargetForm(), edit=(target, TargetForm(instance=target)))


@login_required
@require_POST
def delete_target(request, pk: int):
    target = get_object_or_404(NotificationTarget, pk=pk)
    target.delete()
    messages.success(request, f"Deleted {target}.")
    return redirect("health:notifications")


def _test(pk: int):
    try:
        target = NotificationTarget.objects.filter(pk=pk).first()
        if target is None:
            return None, None
        failure = send(target.url, "Test from Stash Orchestrator", "If you can read this, notifications work.")
        return target, failure
    finally:
        connections.close_all()


@login_required
@require_POST
async def test_target(request, pk: int):
    """Send a test message now, and say at once whether it went out. Async: Apprise may wait seconds on
    an unreachable service, on a thread of its own, never blocking the web process's other pages."""
    target, failure = await sync_to_async(_test, thread_sensitive=False)(pk)
    if target is None:
        return redirect("health:notifications")
    if failure:
        await sync_to_async(messages.error)(request, f"Test to {target} failed: {failure}")
    else:
        await sync_to_async(messages.success)(request, f"Test sent to {target} ({target.masked_url}).")
    return redirect("health:notifications")


def _render(request, form, *, edit=None, status=200):
    context = {
        "form": form,
        "edit": edit,
        "targets": list(NotificationTarget.objects.all()),
        "events": EVENTS,
        "recent": list(Notification.objects.select_related("target").order_by("-id")[:RECENT]),
        "statuses": DeliveryStatus,
    }
    return render(request, "health/notifications.html", context, status=status)
