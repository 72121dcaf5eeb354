from django.db import DatabaseError

from health.checks import get_check
from health.models import CheckState, HealthCheck


def health(request):
    """Every page shows a banner while a check is in error (one small query; the stored results)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    try:
        failing = list(HealthCheck.objects.filter(state=CheckState.ERROR).values_list("name", "reason"))
    except DatabaseError:  # an unmigrated database: the pages say so elsewhere
        return {}
    checks = [(get_check(name), reason) for name, reason in failing]
    # Reasons are sentences; the banner joins them with ";".
    return {"health_errors": [(c.title, reason.rstrip(". ")) for c, reason in checks if c is not None]}
