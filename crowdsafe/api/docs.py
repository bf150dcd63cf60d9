"""OpenAPI schema, Swagger UI and Redoc, served from drf-spectacular-sidecar (never a CDN).

The sidecar's static files are found once `drf_spectacular_sidecar` is in INSTALLED_APPS.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
    _get_sidecar_url,
)
from rest_framework.renderers import JSONRenderer

from accounts.permissions import IsViewer


class SchemaView(SpectacularAPIView):
    permission_classes = [IsViewer]  # the map of the API is for signed-in users only

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # A refusal is JSON like every other endpoint's, not rendered as an OpenAPI document.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response


class SwaggerView(SpectacularSwaggerView):
    url_name = "api-schema"
    permission_classes = [IsViewer]

    @staticmethod
    def _swagger_ui_resource(filename):
        return _get_sidecar_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return _get_sidecar_url("swagger-ui-dist/favicon-32x32.png")


class RedocView(SpectacularRedocView):
    url_name = "api-schema"
    permission_classes = [IsViewer]

    @staticmethod
    def _redoc_standalone():
        return reverse("api-redoc-bundle")

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        # drf-spectacular's template preconnects to Google Fonts; nothing may load from outside.
        html = _REDOC_PAGE.format(
            title=escape(self.title or "CrowdSafe API"),
            script=escape(self._redoc_standalone()),
            schema=escape(self._get_schema_url(request)),
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    """The sidecar's Redoc bundle with its one outside address (the "API docs by Redocly" logo,
    fetched from Redocly's CDN on every visit) pointing at our own icon instead."""
    path = finders.find(REDOC_BUNDLE)
    if not path:
        raise Http404("The Redoc bundle (drf-spectacular-sidecar) is not installed.")
    code = Path(path).read_text(encoding="utf-8")
    return code.replace(REDOC_CDN_LOGO, static("img/favicon.svg")).encode("utf-8")


@require_GET
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """Public, like any static file: the bundle holds no data."""
    response = HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


_REDOC_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <title>{title}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body {{ margin: 0; padding: 0; }}</style>
  </head>
  <body>
    <redoc spec-url="{schema}"></redoc>
    <script src="{script}"></script>
  </body>
</html>
"""
