"""The Content-Security-Policy header on every response Django makes (pages, the API, the admin).

A small middleware rather than django-csp: the policy is one fixed string for the whole site (no nonces,
no per-view exceptions: every page, the admin and Swagger UI satisfy it as is), so a dependency would add
settings and nothing we use. The policy comes from settings.CONTENT_SECURITY_POLICY. Static files are
served by ASGIStaticFilesHandler, outside Django's middleware: they need no policy (none is a document).
"""

from django.conf import settings


class ContentSecurityPolicy:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
