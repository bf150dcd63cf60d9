"""Write bodies may only carry fields the endpoint knows: anything else is a 400 naming it.

A typo or a field name of another product (`source_url` for `source`) silently dropped gives
a 201 with data missing; refusing it tells the client at once. Every serializer that reads a
request body mixes this in; endpoints without a body declare it (`bodyless_actions`) and
`reject_unknown_body` refuses any field sent to them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

# Keys a browser form adds on its own; never a setting of ours.
IGNORED_KEYS = frozenset({"csrfmiddlewaretoken"})


def unknown_field_errors(data, writable: Iterable[str], read_only: Iterable[str] = ()) -> dict:
    """{name: [message]} for each key of `data` that is not a writable field."""
    if not hasattr(data, "keys"):
        return {}
    writable, read_only = set(writable), set(read_only)
    accepted = ", ".join(sorted(writable)) or "none (send no body)"
    errors: dict[str, list[ErrorDetail]] = {}
    for key in sorted(str(k) for k in data):
        if key in writable or key in IGNORED_KEYS:
            continue
        if key in read_only:
            message = "Read-only; it cannot be set."
        else:
            message = f"Unknown field; accepted: {accepted}."
        errors[key] = [ErrorDetail(message, code="unknown_field")]
    return errors


class RejectUnknownFieldsMixin:
    """For DRF serializers: unknown (and read-only) keys in the input are validation errors,
    reported together with the other field errors."""

    def to_internal_value(self, data):
        fields = self.fields.values()  # type: ignore[attr-defined]
        unknown = unknown_field_errors(
            data,
            writable=[f.field_name for f in fields if not f.read_only],
            read_only=[f.field_name for f in fields if f.read_only],
        )
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A plain serializer that refuses unknown fields."""


def reject_unknown_body(request) -> None:
    """For endpoints that take no body: any field sent is refused (a 400 naming it)."""
    errors = unknown_field_errors(request.data, writable=())
    if errors:
        raise serializers.ValidationError(errors)
