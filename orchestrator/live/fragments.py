"""Rendering the live fragments (a daemon's status, a log line, a job row) in any process.

Daemon hosts and job workers render a fragment on every status or progress write, so they use a small
template engine with only Django's built-in tags: the project engine would import every installed app's
template-tag libraries (DRF's among them), which costs each host process ~20 MB. Pages {% include %} the
same files, so first load and pushes render identically. Fragments must therefore use built-in tags
only and must not depend on the request (no csrf_token, no {% url %}: models give their paths).
"""

from functools import lru_cache

from django.conf import settings
from django.template import Context, Engine


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(dirs=[str(settings.BASE_DIR / "templates")], debug=False, autoescape=True)


def render_fragment(name: str, context: dict) -> str:
    """`name` (a path under templates/) rendered with `context`, autoescaped, by the small engine."""
    return _engine().get_template(name).render(Context(context))
