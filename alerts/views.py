"""Alerts pages: the list (filter, acknowledge and resolve with a note; new alerts refresh it
live), an alert's review page (snapshot, clip, trail) and a camera's event timeline."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from alerts.forms import UNRESOLVED, AlertFilterForm, AlertNoteForm
from alerts.models import Alert, AlertStatus
from alerts.selectors import alert_for_review, camera_timeline, unacknowledged_count
from alerts.services import acknowledge_alert, resolve_alert
from cameras.models import Camera
from core.inputs import safe_next
from core.pages import render_page

PAGE_SIZE = 50
TIMELINE_LIMIT = 200  # newest alerts on a camera's timeline


def filtered_alerts(
    level: str = "", status: str = UNRESOLVED, camera=None, since=None, until=None, trigger: str = ""
):
    qs = Alert.objects.select_related("camera", "zone", "acknowledged_by", "resolved_by")
    if level:
        qs = qs.filter(level=level)
    if trigger:
        qs = qs.filter(trigger=trigger)
    if status == UNRESOLVED:
        qs = qs.exclude(status=AlertStatus.RESOLVED)
    elif status:
        qs = qs.filter(status=status)
    if camera is not None:
        qs = qs.filter(camera=camera)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lte=until)
    return qs.order_by("-created_at")


def _list_context(params) -> tuple[dict, bool]:
    data = params.copy()
    if "status" not in data:
        data["status"] = UNRESOLVED
    form = AlertFilterForm(data)
    valid = form.is_valid()
    filters = form.cleaned_data if valid else {"status": UNRESOLVED}
    page = Paginator(filtered_alerts(**filters), PAGE_SIZE).get_page(params.get("page"))
    query = data.copy()
    query.pop("page", None)
    return {"form": form, "page": page, "query": query.urlencode()}, valid


@require_GET
@role_required(Role.VIEWER)
def alert_list(request: HttpRequest) -> HttpResponse:
    context, valid = _list_context(request.GET)
    status = 200 if valid else 400
    if request.htmx and request.htmx.target == "alerts-table":
        return render(request, "partials/alerts_table.html", context, status=status)
    return render_page(request, "pages/alerts.html", "alerts", context, status=status)


@require_GET
@role_required(Role.VIEWER)
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One event to review: snapshot, clip, figures, its trail; operators work it here too."""
    alert = alert_for_review(alert_id)
    if alert is None:
        raise Http404("No such alert.")
    return render_page(request, "pages/alert_detail.html", "alerts", {"alert": alert})


@require_GET
@role_required(Role.VIEWER)
def camera_events(request: HttpRequest, camera_id: int) -> HttpResponse:
    """The camera's alerts over time, by day, with their snapshots and clips."""
    camera = get_object_or_404(Camera, pk=camera_id)
    context = {"camera": camera, "days": camera_timeline(camera, TIMELINE_LIMIT), "limit": TIMELINE_LIMIT}
    return render_page(request, "pages/camera_events.html", "cameras", context)


def _change(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:

    alert = get_object_or_404(Alert.objects.select_related("camera"), pk=alert_id)
    form = AlertNoteForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(e for errs in form.errors.values() for e in errs)
    else:
        service = acknowledge_alert if action == "acknowledge" else resolve_alert
        try:
            service(alert, user=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    status = 400 if error else 200
    if request.htmx:
        # Re-render the table as the operator sees it (their filters), plus the sidebar badge.
        current = urlsplit(request.htmx.current_url or "")
        context, _ = _list_context(QueryDict(current.query))
        context.update({"error": error, "badge_count": unacknowledged_count()})
        return render(request, "partials/alert_action_result.html", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Alert {action}d.")
    return redirect(safe_next(request, request.POST.get("next")) or "alerts")


@require_POST
@role_required(Role.OPERATOR)
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _change(request, alert_id, "acknowledge")


@require_POST
@role_required(Role.OPERATOR)
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _change(request, alert_id, "resolve")
