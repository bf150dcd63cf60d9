"""GET /api/metrics/<camera>/...: history, current, summary, aggregate and export."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from accounts.permissions import IsViewer
from analytics import presenters, selectors
from analytics.api.serializers import (
    AggregateQuerySerializer,
    AggregateSerializer,
    HistoryQuerySerializer,
    HistorySerializer,
    RangeQuerySerializer,
    SummarySerializer,
    parse_metrics_query,
)
from cameras.api.serializers import live_metrics
from cameras.models import Camera, CameraStatus
from core.api.base import CrowdSafeAPIView, ErrorSerializer, get_or_404

_errors = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def _iso(dt) -> str:
    return dt.astimezone(timezone.get_current_timezone()).isoformat()


class MetricsHistoryView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(parameters=[HistoryQuerySerializer], responses={200: HistorySerializer, **_errors})
    def get(self, request, camera_id: int):
        """Points over a range, oldest first; long ranges are averaged into at most max_points buckets."""
        q = parse_metrics_query(HistoryQuerySerializer, request, camera_id)
        camera, zone, start, end, max_points = q["camera"], q["zone"], q["start"], q["end"], q["max_points"]
        points = presenters.metrics_history(camera, start, end, zone=zone, max_points=max_points)
        return Response(
            {
                "camera_id": camera.pk,
                "zone_id": zone.pk if zone else None,
                "start": _iso(start),
                "end": _iso(end),
                "step_seconds": selectors.history_step(start, end, max(10, max_points)),
                "points": points,
            }
        )


class MetricsCurrentView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors})
    def get(self, request, camera_id: int):
        """The live figures of a running camera, else its last stored second, else {}."""

        camera = get_or_404(Camera, camera_id)
        live = live_metrics(camera.pk)
        if live:
            return Response({**live, "source": "live"})
        last = selectors.latest_metric(camera)
        if last is None:
            return Response({})
        return Response({**presenters.metric_to_dict(last), "source": "stored"})


class MetricsSummaryView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(parameters=[RangeQuerySerializer], responses={200: SummarySerializer, **_errors})
    def get(self, request, camera_id: int):
        """Averages, peaks and totals over the range (each stored row is one second)."""
        q = parse_metrics_query(RangeQuerySerializer, request, camera_id)
        camera, zone = q["camera"], q["zone"]
        summary = presenters.metrics_summary(camera, q["start"], q["end"], zone=zone)
        return Response({"camera_id": camera.pk, "zone_id": zone.pk if zone else None, **summary})


class MetricsAggregateView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(parameters=[AggregateQuerySerializer], responses={200: AggregateSerializer, **_errors})
    def get(self, request, camera_id: int):
        """Hourly, daily or weekly (ISO) buckets in the display time zone."""
        q = parse_metrics_query(AggregateQuerySerializer, request, camera_id)
        camera, zone, start, end, interval = q["camera"], q["zone"], q["start"], q["end"], q["interval"]
        buckets = presenters.metrics_aggregate(camera, start, end, bucket=interval, zone=zone)
        return Response(
            {
                "camera_id": camera.pk,
                "zone_id": zone.pk if zone else None,
                "interval": interval,
                "time_zone": timezone.get_current_timezone_name(),
                "start": _iso(start),
                "end": _iso(end),
                "buckets": buckets,
            }
        )


class MetricsOverviewView(CrowdSafeAPIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="metrics_overview",
        responses={200: OpenApiTypes.OBJECT, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        """Totals over the running cameras: people now, cameras active, the highest risk."""

        running = list(Camera.objects.filter(status=CameraStatus.RUNNING).values_list("pk", flat=True))
        lives = [m for m in (live_metrics(pk) for pk in running) if m]
        top = max(lives, key=lambda m: m.get("risk_score") or 0, default=None)
        return Response(
            {
                "cameras_active": len(running),
                "total_people": sum(int(m.get("count") or 0) for m in lives),
                "max_risk_score": (top or {}).get("risk_score", 0.0),
                "max_risk_level": (top or {}).get("risk_level", "SAFE"),
            }
        )
