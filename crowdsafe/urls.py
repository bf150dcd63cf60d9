from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

admin.site.site_header = "CrowdSafe administration"
admin.site.site_title = "CrowdSafe admin"

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that link no icon (admin, API docs): the static one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static_url, str)("img/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("api/", include("crowdsafe.api_urls")),
    path("", include("crowdsafe.page_urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
