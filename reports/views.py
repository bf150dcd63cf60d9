"""The analytics page's export button: a report of the selected range (operators only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from accounts.permissions import role_required
from accounts.roles import Role
from analytics.forms import EXPORT_FORMATS, form_for_request
from reports.exports import export_response


@require_GET
@role_required(Role.OPERATOR)  # exports are operator-only, as in the API
def analytics_export(request: HttpRequest) -> HttpResponse:
    """A CSV, DOCX, PDF or Markdown report of the selected range (built by `reports`)."""
    fmt = request.GET.get("format", "")
    form = form_for_request(request)
    if fmt not in EXPORT_FORMATS:
        return _bad_request(f"Unknown format '{fmt}'; use csv, docx, pdf or md.")
    if form is None or not form.is_valid():
        if form is not None and form.range_error is not None:  # the fields were fine, the range not
            return _bad_request(" ".join(form.range_error.messages))
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in (form.errors.items() if form else []))
        return _bad_request(errors or "No camera to export.")
    data = form.cleaned_data
    return export_response(
        data["camera"], data["range_start"], data["range_end"], fmt=fmt, zone=data.get("zone")
    )


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
