"""GET /api/: the API's front door — where the docs and the schema are, and every endpoint with its methods.

Built from the URL configuration itself (the resolver under /api/), so a new route is listed without
anyone editing a list; orchestrator must not import the apps' API modules (layers), and it need not.
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.renderers import OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

API_PREFIX = "api/"
_METHODS = ("get", "post", "put", "patch", "delete")

# "<slug:name>" → "{name}", as the OpenAPI schema writes path parameters (and "pk" as "id", as
# drf-spectacular's SCHEMA_COERCE_PATH_PK does), so a path here can be looked up in the schema.
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _schema_path(route: str) -> str:
    return _CONVERTER.sub(lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", route)


def _endpoints(patterns, prefix: str) -> list[dict]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _endpoints(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("/" + API_PREFIX):
            view = getattr(entry.callback, "view_class", None)
            methods = [m.upper() for m in _METHODS if view is not None and hasattr(view, m)]
            found.append({"path": _schema_path(route), "name": entry.name or "", "methods": methods})
    return found


class ApiIndex(APIView):
    @extend_schema(
        summary="The API's index: links to the docs and the schema, and every endpoint",
        responses=inline_serializer(
            "ApiIndex",
            {
                "docs": serializers.CharField(),
                "schema": serializers.CharField(),
                "authentication": serializers.CharField(),
                "endpoints": inline_serializer(
                    "ApiEndpoint",
                    {
                        "path": serializers.CharField(),
                        "name": serializers.CharField(),
                        "methods": serializers.ListField(child=serializers.CharField()),
                    },
                    many=True,
                ),
            },
        ),
    )
    def get(self, request):
        endpoints = [e for e in _endpoints(get_resolver().url_patterns, "/") if e["path"] != "/" + API_PREFIX]
        return Response(
            {
                "docs": request.build_absolute_uri("/api/docs/"),
                "schema": request.build_absolute_uri("/api/schema/"),
                "authentication": "A session (log in at /login/) or a token: 'Authorization: Token <key>' "
                "(tokens are made in the admin, or with `manage.py drf_create_token <user>`).",
                "endpoints": endpoints,
            }
        )


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, JSON first: a browser then shows it instead of downloading a YAML file;
    ?format=yaml (or Accept: application/vnd.oai.openapi) still gives YAML."""

    renderer_classes = [OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2]
