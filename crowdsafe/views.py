"""Operator pages of the platform itself: the dashboard, runtime settings and the system log.

Every page goes through `render_page`, which adds what the layout needs (the sidebar's
unacknowledged-alert count, the active section). Views stay thin: reads are the small
selector functions below or the other apps' selectors, writes are the apps' services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from accounts.services import set_wall_layout
from alerts.delivery import telegram_delivery
from alerts.selectors import latest_alerts
from alerts.telegram import send_test_message
from cameras.live import get_live_metrics
from cameras.models import Camera, CameraStatus, DesiredState
from core.forms import RuntimeSettingsForm
from core.inputs import parse_id
from core.pages import apply_validation_error, render_page
from core.risk import highest_level, worst_risk
from core.runtime_settings import get_runtime_settings, update_runtime_settings
from crowdsafe.logs import page_filter, system_log
from crowdsafe.wall import wall_context

LIVE_STATUSES = (
    CameraStatus.RUNNING, CameraStatus.STARTING, CameraStatus.RECONNECTING, CameraStatus.RECOVERING
)
WALL_KEEPS_FINISHED = timedelta(hours=1)  # a finished video's tile says so this long


# --- dashboard ----------------------------------------------------------------------------


def live_cameras() -> list[dict[str, Any]]:
    """The wall's cameras, each with its latest live figures from Redis: those that run or
    should (wished running: also reconnecting or in error until someone stops them), and a
    video that ended within `WALL_KEEPS_FINISHED` (its wish is dropped at the end)."""
    ended_since = timezone.now() - WALL_KEEPS_FINISHED
    cameras = Camera.objects.filter(
        Q(status__in=LIVE_STATUSES)
        | Q(desired_state=DesiredState.RUNNING)
        | Q(status=CameraStatus.FINISHED, status_since__gte=ended_since),
        is_active=True,
    ).order_by("name")
    tiles = []
    for camera in cameras:
        live = get_live_metrics(camera.pk) or {}
        tiles.append(
            {
                "camera": camera,
                "count": live.get("count"),
                "density": live.get("density"),
                "risk_level": live.get("risk_level") or "",
                "risk_score": live.get("risk_score"),
                "worst_risk": worst_risk(live),  # the camera's or its worst zone's
                "level_of_service": live.get("level_of_service") or "",
                "count_quality": live.get("count_quality"),
            }
        )
    return tiles


def dashboard_totals(tiles: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures; the highest risk counts every zone of every camera."""
    levels = [(t["worst_risk"] or {}).get("level") or t["risk_level"] for t in tiles]
    highest = highest_level(levels)
    where = ""
    for tile, level in zip(tiles, levels, strict=True):
        if highest and level == highest:
            zone = (tile["worst_risk"] or {}).get("zone")
            where = f"{tile['camera'].name}, zone {zone}" if zone else tile["camera"].name
            break
    return {
        "people": sum(t["count"] or 0 for t in tiles),
        "running": sum(1 for t in tiles if t["camera"].status == CameraStatus.RUNNING),
        "highest_risk": highest,
        "highest_where": where,
        "cameras_total": Camera.objects.count(),
    }


@require_GET
@role_required(Role.VIEWER)
def dashboard(request: HttpRequest) -> HttpResponse:
    tiles = live_cameras()
    context = {"tiles": tiles, "totals": dashboard_totals(tiles), "alerts": latest_alerts(),
               **wall_context(request.user, tiles)}
    return render_page(request, "pages/dashboard.html", "dashboard", context)


@require_GET
@role_required(Role.VIEWER)
def dashboard_grid(request: HttpRequest) -> HttpResponse:
    """The tile grid alone: re-fetched when a camera starts while the page is open."""
    tiles = live_cameras()
    return render(request, "partials/camera_grid.html", {"tiles": tiles, **wall_context(request.user, tiles)})


@require_POST
@role_required(Role.VIEWER)
def dashboard_layout(request: HttpRequest) -> HttpResponse:
    """The user's wall layout, kept on the server (it follows them to every browser).
    The page posts it in the background (204); a plain form post comes back to the dashboard."""
    try:
        set_wall_layout(request.user, request.POST.get("layout", ""))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.message_dict["layout"]), status=400, content_type="text/plain")
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("dashboard")


@require_GET
@role_required(Role.VIEWER)
def latest_alerts_fragment(request: HttpRequest) -> HttpResponse:
    camera_id = parse_id(request.GET.get("camera"))
    camera = Camera.objects.filter(pk=camera_id).first() if camera_id is not None else None
    context = {"alerts": latest_alerts(camera=camera), "camera_id": camera.pk if camera else None}
    return render(request, "partials/latest_alerts.html", context)


# --- settings (admin) --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:

    current = get_runtime_settings()
    if request.method == "POST":
        form = RuntimeSettingsForm(request.POST, current=current)
        if form.is_valid():
            try:
                update_runtime_settings(form.changes(), user=request.user)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, "Settings saved. Running cameras pick them up within seconds.")
                return redirect("settings")
        status = 400
    else:
        form = RuntimeSettingsForm(current=current)
        status = 200
    context = {
        "form": form,
        "current": current,
        "delivery": telegram_delivery(for_admin=True),
        "public_url": django_settings.CROWDSAFE_PUBLIC_URL,
    }
    return render_page(request, "pages/settings.html", "settings", context, status=status)


@require_POST
@role_required(Role.ADMIN)
def telegram_test(request: HttpRequest) -> HttpResponse:

    result = send_test_message()
    return render(request, "partials/test_result.html", {"ok": result.ok, "message": result.detail})


# --- system log (admin) ------------------------------------------------------------------


@require_GET
@role_required(Role.ADMIN)
def logs_page(request: HttpRequest) -> HttpResponse:
    logs = page_filter(request.GET)
    valid = logs.is_valid()
    page = Paginator(logs.qs if valid else system_log(), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": logs.form, "page": page, "query": query.urlencode()}
    status = 400 if logs.is_bound and not valid else 200
    return render_page(request, "pages/logs.html", "logs", context, status=status)
