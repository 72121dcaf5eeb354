"""The health page (/health/) and its "Check now" button."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from health import status
from health.checks import get_check
from health.runner import run_check


@login_required
def health_page(request):
    rows = status.rows()
    context = {
        "rows": rows,
        "loop_stale": status.loop_is_stale(),
        "failing": sum(1 for r in rows if r.stored.failing),
    }
    return render(request, "health/health.html", context)


def _check_now(name: str):
    try:
        return run_check(name)
    finally:
        connections.close_all()


@login_required
@require_POST
async def check_now(request, name: str):
    """Run one check now. An async view: the check runs on a thread of its own (with its deadline), so a
    hanging dependency holds up this request only, never the web process's other pages."""
    check = get_check(name)
    if check is None:
        raise Http404("No such check")
    row = await sync_to_async(_check_now, thread_sensitive=False)(name)
    level = {"ok": messages.SUCCESS, "warning": messages.WARNING}.get(row.state, messages.ERROR)
    await sync_to_async(messages.add_message)(request, level, f"{check.title}: {row.reason}")
    return redirect(f"/health/#check-{name}")
