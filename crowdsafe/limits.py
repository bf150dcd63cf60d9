"""Request body limits, enforced before anything reads or stores a body.

- `BodyLimitASGI` wraps the Django ASGI app (crowdsafe.asgi). Django's ASGI handler spools
  the whole body to a temporary file before any middleware runs, so the limit is applied
  here: a declared Content-Length over the limit gets 413 at once; a chunked body is
  counted as it arrives and cut off with 413. A body larger than the JSON/form limit to an
  upload path must come from a signed-in operator (session or Bearer token), checked before
  the body is read, so anonymous 500 MB POSTs never reach the disk.
- `RequestSizeMiddleware` (first in MIDDLEWARE) does the same Content-Length check for
  callers that do not go through ASGI (the test client) and turns Django's
  RequestDataTooBig into 413 with a clear message instead of an error.
- `AnonymousMultipartMiddleware` (right after AuthenticationMiddleware) refuses multipart
  POSTs without a signed-in user or a Bearer token before CSRF would parse them (sign-in
  endpoints excepted: their bodies are capped at 64 KB).

Limits: video upload paths CROWDSAFE_MAX_UPLOAD_MB (plus 1 MiB of form overhead), sign-in
endpoints 64 KB, every other path DATA_UPLOAD_MAX_MEMORY_SIZE (10 MiB).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.live_auth import session_user
from accounts.roles import Role, has_role

log = logging.getLogger(__name__)
UPLOAD_PATHS = (
    re.compile(r"^/api/cameras/[0-9]+/upload/$"),
    re.compile(r"^/cameras/[0-9]+/upload/$"),
    re.compile(r"^/cameras/add/$"),
    re.compile(r"^/cameras/[0-9]+/edit/$"),
)
# Sign-in endpoints are the only ones anonymous callers may send forms to; they need little.
SIGN_IN_PATHS = (
    re.compile(r"^/(admin/)?login/$"),
    re.compile(r"^/reset/[^/]+/[^/]+/$"),
    re.compile(r"^/api/auth/(login|refresh|logout)/$"),
)
SIGN_IN_LIMIT = 64 * 1024
FORM_OVERHEAD = 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_upload_path(path: str) -> bool:
    return any(pattern.match(path) for pattern in UPLOAD_PATHS)


def is_sign_in_path(path: str) -> bool:
    return any(pattern.match(path) for pattern in SIGN_IN_PATHS)


def body_limit(path: str) -> int:
    """The largest body accepted on this path, in bytes."""
    if is_upload_path(path):
        return settings.CROWDSAFE_MAX_UPLOAD_MB * 1024 * 1024 + FORM_OVERHEAD
    if is_sign_in_path(path):
        return SIGN_IN_LIMIT
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_message(path: str) -> str:
    if is_upload_path(path):
        return f"The upload is too large: videos may be at most {settings.CROWDSAFE_MAX_UPLOAD_MB} MB."
    limit = body_limit(path)
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"The request body is too large: at most {size} is accepted here."


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def refusal(path: str, status: int, code: str, detail: str) -> tuple[bytes, bytes]:
    """(content type, body) of a refusal: JSON for the API, a short HTML page otherwise."""
    if _is_api(path):
        return b"application/json", json.dumps({"status": status, "code": code, "detail": detail}).encode()

    page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(detail)}</p>"
    return b"text/html; charset=utf-8", page.encode()


def _response(path: str, status: int, code: str, detail: str) -> HttpResponse:
    if _is_api(path):
        return JsonResponse({"status": status, "code": code, "detail": detail}, status=status)
    content_type, body = refusal(path, status, code, detail)
    return HttpResponse(body, status=status, content_type=content_type.decode())


def _declared_length(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return None


# --- Django middleware -----------------------------------------------------------------------


class RequestSizeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = _declared_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > body_limit(request.path):
            return _response(request.path, 413, "too_large", too_large_message(request.path))
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return _response(request.path, 413, "too_large", too_large_message(request.path))
        return None


def _is_multipart(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/")


class AnonymousMultipartMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method in _BODY_METHODS
            and _is_multipart(request.META.get("CONTENT_TYPE", ""))
            and not request.user.is_authenticated
            and not request.headers.get("Authorization")
            and not is_sign_in_path(request.path)  # bodies there are capped at SIGN_IN_LIMIT
        ):
            if _is_api(request.path):
                return _response(request.path, 401, "not_authenticated", "Log in or send a Bearer token.")
            return redirect_to_login(request.get_full_path())  # as every page does for anonymous users
        return self.get_response(request)


# --- ASGI wrapper ------------------------------------------------------------------------------


def _uploader_allowed(authorization: str, session_key: str, path: str) -> bool:
    """True when the caller may send a video here (Bearer token, else session): an operator
    to an upload endpoint, an admin to the camera add and edit pages."""

    user = None
    if authorization.startswith("Bearer "):
        auth = JWTAuthentication()
        try:
            user = auth.get_user(auth.get_validated_token(authorization[7:].strip().encode()))
        except (InvalidToken, TokenError):
            return False
    elif session_key:
        user = session_user(session_key)
    return has_role(user, Role.OPERATOR if path.endswith("/upload/") else Role.ADMIN)


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BodyLimitASGI:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {name.lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
        limit = body_limit(path)
        length = _declared_length(headers.get(b"content-length"))
        if length is not None and length > limit:
            await _send(send, path, 413, "too_large", too_large_message(path))
            return
        big = length is None or length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if big and is_upload_path(path):
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get(b"cookie", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie header is just no session
                cookie = SimpleCookie()
            morsel = cookie.get(settings.SESSION_COOKIE_NAME)
            allowed = await sync_to_async(_uploader_allowed)(
                headers.get(b"authorization", ""), morsel.value if morsel else "", path
            )
            if not allowed:
                detail = "Uploading needs a signed-in operator (camera settings: an admin)."
                await _send(send, path, 403, "permission_denied", detail)
                return
        state = {"received": 0, "refused": False}

        async def counted_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request" and not state["refused"]:
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["refused"] = True
                    await _send(send, path, 413, "too_large", too_large_message(path))
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message: dict) -> None:
            if not state["refused"]:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


async def _send(send: Send, path: str, status: int, code: str, detail: str) -> None:
    content_type, body = refusal(path, status, code, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
