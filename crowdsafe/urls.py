from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "CrowdSafe administration"
admin.site.site_title = "CrowdSafe admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("crowdsafe.api_urls")),
    path("", include("crowdsafe.page_urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
