"""Cameras: CRUD (admin), start/stop/upload/test (operator), live figures and stream (viewer).

Views only translate HTTP; the camera services (cameras.services) validate and act.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsOperator, IsViewer
from cameras.api.serializers import (
    CameraActionSerializer,
    CameraPartialSerializer,
    CameraSerializer,
    CameraWriteSerializer,
    ConnectionResultSerializer,
    ConnectionTestSerializer,
    UploadSerializer,
    live_metrics,
)
from cameras.models import Camera, CameraStatus, SourceType
from cameras.services import (
    create_camera,
    delete_camera,
    save_upload,
    start_camera,
    stop_camera,
    test_connection,
    update_camera,
)
from cameras.streaming import mjpeg_stream, still
from core.api.base import CrowdSafeViewSet, ErrorSerializer, parse_body

_errors = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class CameraFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CameraStatus.choices)
    source_type = filters.ChoiceFilter(choices=SourceType.choices)
    is_active = filters.BooleanFilter()

    class Meta:
        model = Camera
        fields = ["status", "source_type", "is_active"]


def _connection_body(result) -> dict:
    return {
        "connection_status": "ok" if result.ok else "error",
        "ok": bool(result.ok),
        "message": result.message,
        "width": getattr(result, "width", None),
        "height": getattr(result, "height", None),
        "fps": getattr(result, "fps", None),
    }


class CameraViewSet(CrowdSafeViewSet):
    serializer_class = CameraSerializer
    filterset_class = CameraFilter
    queryset = Camera.objects.prefetch_related("zones", "exclusions").order_by("name")
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    bodyless_actions = frozenset({"start", "stop", "test"})
    _roles = {
        "list": IsViewer,
        "retrieve": IsViewer,
        "current": IsViewer,
        "start": IsOperator,
        "stop": IsOperator,
        "upload": IsOperator,
        "test": IsOperator,
    }

    def get_permissions(self):
        return [self._roles.get(self.action, IsAdmin)()]

    @extend_schema(responses={200: CameraSerializer(many=True), **_errors})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CameraSerializer(page, many=True).data)

    @extend_schema(responses={200: CameraSerializer, **_errors})
    def retrieve(self, request, pk=None):
        return Response(CameraSerializer(self.get_object()).data)

    @extend_schema(request=CameraWriteSerializer, responses={201: CameraSerializer, **_errors})
    def create(self, request):
        camera = create_camera(user=request.user, **parse_body(CameraWriteSerializer, request))
        return Response(CameraSerializer(camera).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CameraWriteSerializer, responses={200: CameraSerializer, **_errors})
    def update(self, request, pk=None):
        return self._update(request, CameraWriteSerializer)

    @extend_schema(request=CameraPartialSerializer, responses={200: CameraSerializer, **_errors})
    def partial_update(self, request, pk=None):
        return self._update(request, CameraPartialSerializer)

    def _update(self, request, serializer_class):
        camera = self.get_object()
        camera = update_camera(camera, user=request.user, **parse_body(serializer_class, request))
        return Response(CameraSerializer(camera).data)

    @extend_schema(responses={204: None, **_errors})
    def destroy(self, request, pk=None):
        delete_camera(self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses={200: CameraActionSerializer, 202: CameraActionSerializer, **_errors}
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        camera = self.get_object()
        started = start_camera(camera, user=request.user)
        return Response(
            {"status": "started" if started else "already_running", "camera_id": camera.pk},
            status=status.HTTP_202_ACCEPTED if started else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={200: CameraActionSerializer, **_errors})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        camera = self.get_object()
        stop_camera(camera, user=request.user)
        return Response({"status": "stopped", "camera_id": camera.pk})

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: CameraSerializer, 413: ErrorSerializer, **_errors},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request, pk=None):
        """Upload a video for analysis; the camera's source becomes that file."""

        camera = self.get_object()
        video = parse_body(UploadSerializer, request)["video"]
        camera = save_upload(camera, video, user=request.user)
        return Response(CameraSerializer(camera).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ConnectionResultSerializer, **_errors})
    @action(detail=True, methods=["post"], url_path="test")
    def test(self, request, pk=None):
        """Open the camera's stored source once and report what it delivers."""

        camera = self.get_object()
        return Response(_connection_body(test_connection(camera.source_type, camera.source)))

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors})
    @action(detail=True, methods=["get"])
    def current(self, request, pk=None):
        """The newest live figures of the running camera ({} when it is not running)."""
        camera = self.get_object()
        return Response(live_metrics(camera.pk) or {})


class ConnectionTestViewSet(CrowdSafeViewSet):
    """POST /api/cameras/test-connection/: test a source before saving a camera (admin)."""

    permission_classes = [IsAdmin]
    serializer_class = ConnectionTestSerializer

    @extend_schema(request=ConnectionTestSerializer, responses={200: ConnectionResultSerializer, **_errors})
    def create(self, request):
        data = parse_body(ConnectionTestSerializer, request)
        return Response(_connection_body(test_connection(data["source_type"], data["source"])))


@extend_schema(
    responses={(200, "multipart/x-mixed-replace"): OpenApiResponse(description="MJPEG stream")},
)
async def camera_stream(request, camera_id: int):
    """MJPEG of the annotated frames (`?heatmap=1` for this viewer only, `?overlay=light` for
    small wall tiles); auth in the stream view."""
    return await mjpeg_stream(request, camera_id=camera_id)


@extend_schema(
    parameters=[OpenApiParameter("overlay", str, enum=["full", "light"], description="full (default)")],
    responses={(200, "image/jpeg"): OpenApiResponse(description="The newest frame")},
)
async def camera_still(request, camera_id: int):
    """The newest frame as one JPEG, full or light (boxes and risk badge only, smaller)."""
    return await still(request, camera_id=camera_id)
