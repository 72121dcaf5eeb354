"""Notifications: the last delivery to each notification URL worked (failures are also logged)."""

from health.checks import Check, Result, ok, warning
from health.notifications.models import NotificationTarget
from orchestrator.paths import notifications_settings_path


def run() -> Result:
    targets = list(NotificationTarget.objects.filter(enabled=True))
    failing = [t for t in targets if t.last_error_at and (not t.last_sent_at or t.last_error_at > t.last_sent_at)]
    if failing:
        said = " ".join(f"{t} ({t.masked_url}): {t.last_error}" for t in failing)
        return warning(
            f"Notifications are not getting through: {said}",
            f"Correct the URL on {notifications_settings_path()} and use Send test.",
            failing=len(failing),
        )
    if not targets:
        return ok(f"No notification URL is set (add one on {notifications_settings_path()}).", targets=0)
    return ok(f"{len(targets)} notification URL{'s' if len(targets) != 1 else ''}; the last deliveries worked.")


CHECK = Check("notifications", "Notifications", "The last delivery to each notification URL worked.", run)
