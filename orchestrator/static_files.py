"""daphne serves the static files itself (whatever DEBUG is). Django's handler turns only Http404 into an
answer: a path that tries to leave the static folders (`/static/..%2f..%2fsettings.py`) makes
`safe_join` raise SuspiciousFileOperation, which became a 500 with a traceback logged for every such
anonymous request. Here it is a plain 404: nothing is there to be found."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.http import Http404


class SafeStaticFilesHandler(ASGIStaticFilesHandler):
    def serve(self, request):
        try:
            return super().serve(request)
        except (SuspiciousOperation, ValueError):  # ValueError: e.g. a NUL byte in the path
            raise Http404("No such static file") from None
