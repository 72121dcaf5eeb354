from django import template

from daemons.timeline import WINDOWS
from daemons.timeline_views import strip_context

register = template.Library()


@register.inclusion_tag("daemons/_timeline.html")
def timeline_strip(daemon, hours=None, compact=False):
    """{% timeline_strip daemon 24 compact=True %}: the daemon's timeline, drawn with the page. `hours` may
    come from the query string (?timeline=168); anything but a known window is the last 24 hours."""
    hours = int(hours) if str(hours).isdigit() and int(hours) in WINDOWS else 24
    return strip_context(daemon, hours, compact)
