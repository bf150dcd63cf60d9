"""GET /api/metrics/<camera>/export/: a report file of a range (operators only)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from accounts.permissions import IsOperator
from analytics.api.serializers import ExportQuerySerializer, parse_metrics_query
from core.api.base import CrowdSafeAPIView, ErrorSerializer
from reports.exports import export_response

_errors = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class MetricsExportView(CrowdSafeAPIView):
    permission_classes = [IsOperator]

    def perform_content_negotiation(self, request, force=False):
        # ?format= names the export format here, not a DRF renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, every stored second"),
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"): OpenApiResponse(
                OpenApiTypes.BINARY
            ),
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.BINARY),
            **_errors,
        },
    )
    def get(self, request, camera_id: int):
        """A report file: title, camera, zone, range, summary, chart and data table (CSV: rows only)."""
        q = parse_metrics_query(ExportQuerySerializer, request, camera_id)
        return export_response(
            q["camera"], q["start"], q["end"], fmt=q["format"], zone=q["zone"], max_rows=q["max_rows"]
        )
