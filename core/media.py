"""Protected media files (recordings) in HTTP responses, after the view checked the role.

Behind nginx (`CROWDSAFE_MEDIA_ACCEL_PREFIX` set, as docker-compose does) Django answers with
an empty response and `X-Accel-Redirect`; nginx then sends the file from its internal location,
with Range requests (seeking), sendfile and no Python process held for the download. Without
it, Django streams the file itself, with single Range support: the development fallback
(`manage.py check` warns about it when DEBUG is off).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core import checks
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from core.inputs import parse_range

CHUNK = 256 * 1024


def file_response(request: HttpRequest, path: Path, *, download_name: str | None = None) -> HttpResponse:
    """The file under MEDIA_ROOT at `path`; `download_name` makes it an attachment."""
    media_root = Path(settings.MEDIA_ROOT).resolve()
    try:
        resolved = path.resolve(strict=True)
        relative = resolved.relative_to(media_root)
    except (FileNotFoundError, ValueError) as exc:  # missing, or not a media file at all
        raise Http404("The file is missing.") from exc
    if not resolved.is_file():
        raise Http404("The file is missing.")
    content_type = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
    prefix = settings.CROWDSAFE_MEDIA_ACCEL_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix + quote(relative.as_posix())
    else:
        response = _served_by_django(request, resolved, content_type)
    if download_name is not None:
        response["Content-Disposition"] = content_disposition_header(True, download_name)
    return response


def _served_by_django(request: HttpRequest, path: Path, content_type: str) -> HttpResponse:
    size = path.stat().st_size
    wanted = parse_range(request.headers.get("Range", ""))
    if wanted is None:
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # suffix range: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    body = _slice(path, start, end - start + 1)
    response = StreamingHttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def _slice(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        while length > 0:
            data = fh.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data


def check_media_serving(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.CROWDSAFE_MEDIA_ACCEL_PREFIX:
        return []
    return [
        checks.Warning(
            "Recordings are served by Django (the development fallback).",
            hint="Behind nginx set CROWDSAFE_MEDIA_ACCEL_PREFIX=/protected-media/ (deploy/nginx.conf): "
            "nginx then sends the files, with Range requests, and no worker is held per download.",
            id="core.W001",
        )
    ]
