"""What every operator page shares: rendering with the layout's context, form errors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(
    request: HttpRequest, template: str, nav: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Render a full page (or, for an htmx request, whatever template the view chose)."""
    ctx = {"nav": nav, **(context or {})}
    return render(request, template, ctx, status=status)


def apply_validation_error(form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: field errors inline, the rest on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            field = (aliases or {}).get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
