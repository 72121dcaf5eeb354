from django.conf import settings

from orchestrator.roles import READ_ONLY_MESSAGE, is_read_only


def site(request):
    """Values every page needs: thresholds the live script reads from data attributes, and whether the
    account only reads (the page then says so and static/js/read-only.js disables its buttons)."""
    read_only = is_read_only(getattr(request, "user", None))
    return {
        "stale_after_seconds": settings.DAEMON_STALE_AFTER_SECONDS,
        "lease_seconds": settings.DAEMON_LEASE_SECONDS,
        "read_only": read_only,
        "read_only_message": READ_ONLY_MESSAGE if read_only else "",
    }
