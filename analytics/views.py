"""Analytics page: history charts, summary cards, raw rows and exports for a camera or zone.

The form parses the query (camera, zone, range, bucket); the figures come from
`analytics.presenters` over the selectors (down-sampled history, stored hourly partials);
the charts are drawn by Chart.js from a JSON island the page renders, so a preset or a
custom range is one htmx request that returns the whole results block.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from accounts.permissions import role_required
from accounts.roles import Role
from analytics import presenters, selectors
from analytics.forms import EXPORT_FORMATS, AnalyticsForm, form_for_request
from analytics.gaps import gap_starts
from cameras.models import Camera
from core.pages import render_page
from core.times import utc_iso

CHART_POINTS = 500
RAW_PAGE_SIZE = 50


BUCKET_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}


def chart_series(
    rows: list[dict], bucketed: bool, span_s: float, step_s: float | None = None
) -> dict[str, list]:
    """Chart.js inputs: labels in the display zone plus the four series, and each point's UTC
    time with a label style, so the browser relabels the points in the viewer's own zone.
    Day and week buckets are days of the display zone (the server cut them there): their
    style is "date", which the browser keeps as the server wrote it.

    Where consecutive points are more than two buckets (`step_s`) apart a null point is put
    between them, so the line breaks across the period without data.
    """
    if bucketed:
        fmt, style = ("%d %b %H:%M", "minutes") if span_s <= 7 * 86400 else ("%d %b %Y", "date")
    else:
        fmt, style = ("%H:%M:%S", "seconds") if span_s <= 3600 else ("%d %b %H:%M", "minutes")
    labels, count, density, risk, speed = [], [], [], [], []
    utc: list[str | None] = []
    tz = timezone.get_current_timezone()
    times = [parse_datetime(row["bucket"] if bucketed else row["timestamp"]) for row in rows]
    gaps = set(gap_starts(times, step_s)) if all(times) else set()
    for i, (row, at) in enumerate(zip(rows, times, strict=True)):
        if i in gaps:
            for values in (labels, count, density, risk, speed, utc):
                values.append(None)
            labels[-1] = ""
        labels.append(at.astimezone(tz).strftime(fmt) if at else "")
        utc.append(utc_iso(at) if at else None)
        if bucketed:
            count.append(row["avg_count"])
            density.append(row["avg_density"])
            risk.append(round(row["avg_risk"] * 100, 1))
            speed.append(row["avg_velocity"])
        else:
            count.append(row["count"])
            density.append(row["density"])
            risk.append(round(row["risk_score"] * 100, 1))
            speed.append(row["avg_speed"])
    return {"labels": labels, "count": count, "density": density, "risk": risk, "speed": speed,
            "times": utc, "label_style": style}


def raw_rows(camera: Camera, start: datetime, end: datetime, zone=None):
    return selectors.metrics_queryset(camera, start, end, zone=zone).order_by("-timestamp")


def analytics_results(form: AnalyticsForm, page_number: str | None) -> dict[str, Any]:
    """Everything the results block shows (of a valid form)."""
    data = form.cleaned_data
    camera, zone, start, end = data["camera"], data.get("zone"), data["range_start"], data["range_end"]
    bucket = data["bucket"]
    if bucket == "auto":
        rows = presenters.metrics_history(camera, start, end, zone=zone, max_points=CHART_POINTS)
    else:
        rows = presenters.metrics_aggregate(camera, start, end, bucket=bucket, zone=zone)
    step = BUCKET_SECONDS.get(bucket) or selectors.history_step(start, end, CHART_POINTS)
    series = chart_series(rows, bucket != "auto", (end - start).total_seconds(), step)
    summary = presenters.metrics_summary(camera, start, end, zone=zone)
    return {
        "camera": camera,
        "zone": zone,
        "start": start,
        "end": end,
        "summary": summary,
        "series": series,
        "bucket": bucket,
    }


def raw_page(form: AnalyticsForm, page_number: str | None):
    """One page of stored rows, newest first (loaded only when the table is opened)."""
    data = form.cleaned_data
    rows = raw_rows(data["camera"], data["range_start"], data["range_end"], data.get("zone"))
    return Paginator(rows, RAW_PAGE_SIZE).get_page(page_number)


@require_GET
@role_required(Role.VIEWER)
def analytics_page(request: HttpRequest) -> HttpResponse:
    form = form_for_request(request)
    context: dict[str, Any] = {"form": form, "export_formats": EXPORT_FORMATS}
    status = 200
    raw = bool(request.htmx and request.htmx.target == "raw-table")
    if form is not None:
        if form.is_valid():
            if raw:
                context["page"] = raw_page(form, request.GET.get("page"))
            else:
                context.update(analytics_results(form, request.GET.get("page")))
        if form.errors:
            status = 400
        query = request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
    if raw:
        return render(request, "partials/analytics_raw.html", context, status=status)
    if request.htmx and request.htmx.target == "analytics-results":
        context["zone_field_oob"] = form is not None
        return render(request, "partials/analytics_results.html", context, status=status)
    return render_page(request, "pages/analytics.html", "analytics", context, status=status)
