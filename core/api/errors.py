"""One error body for the whole API, whatever raised the error.

    {"status": 400, "code": "invalid", "detail": "start: 'x' is not a date ...",
     "errors": {"start": ["'x' is not a date ..."]}}

`errors` is present for validation errors only. Django's ValidationError (raised by the
services), Http404 and PermissionDenied become 400, 404 and 403; an unexpected exception
is logged and answered with a JSON 500 that reveals nothing. A Redis, broker or database
outage is a 503 with Retry-After (core.outages).

Settings: REST_FRAMEWORK["EXCEPTION_HANDLER"] = "core.api.errors.exception_handler"
(the API's base classes also set it per view).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from core.outages import RETRY_AFTER_S, UNAVAILABLE_DETAIL, is_outage

logger = logging.getLogger("crowdsafe.api")


def _flatten(errors, prefix: str = "") -> list[str]:
    """'field: message' lines of a nested DRF error structure."""
    if isinstance(errors, dict):
        lines: list[str] = []
        for key, value in errors.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return lines
    if isinstance(errors, list):
        return [line for item in errors for line in _flatten(item, prefix)]
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def _convert(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=as_serializer_error(exc))
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if is_outage(exc):
        return LiveServicesUnavailable()
    return exc


class LiveServicesUnavailable(exceptions.APIException):
    """Redis, the Celery broker or the database connection is down: a retryable 503, not a 500."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = UNAVAILABLE_DETAIL


def error_response(status_code: int, code: str, detail: str, errors: dict | None = None, headers=None):
    body = {"status": status_code, "code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _convert(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception("Unhandled API error in %s", type(view).__name__ if view else "?", exc_info=exc)
        return error_response(
            status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "Internal error; it has been logged."
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        errors = _stringify(errors)
        detail = "; ".join(_flatten(errors)) or "Invalid input."
        return error_response(response.status_code, "invalid", detail, errors, headers=_headers(response))
    if isinstance(exc, LiveServicesUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_S)
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    code = codes if isinstance(codes, str) else "error"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    return error_response(response.status_code, code, str(detail), headers=_headers(response))


def _stringify(value):
    if isinstance(value, dict):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return str(value)


def _headers(response: Response) -> dict:
    return {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
