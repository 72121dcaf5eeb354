from django.conf import settings


def site(request):
    """Values every page needs: thresholds the live script reads from data attributes."""
    return {"stale_after_seconds": settings.DAEMON_STALE_AFTER_SECONDS, "lease_seconds": settings.DAEMON_LEASE_SECONDS}
