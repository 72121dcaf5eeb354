from health.live import failing


def health(request):
    """Every page shows a banner while a check is in error (one small query; the stored results). The
    banner then follows the checks live (health/live.py)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"health_errors": failing()}
