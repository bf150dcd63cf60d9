"""Recordings: list and detail (viewer), download (operator, streamed), delete (admin)."""

from __future__ import annotations

from pathlib import Path

from django.utils.text import get_valid_filename
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsOperator, IsViewer
from cameras.api.serializers import RecordingSerializer
from cameras.models import Recording, RecordingKind
from cameras.recordings import delete_recording
from core.api.base import CrowdSafeViewSet, ErrorSerializer
from core.api.filters import DateTimeFilter
from core.media import file_response

_errors = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class RecordingFilter(filters.FilterSet):
    camera = filters.NumberFilter(field_name="camera_id", min_value=1)
    kind = filters.ChoiceFilter(choices=RecordingKind.choices)
    start = DateTimeFilter(field_name="started_at", lookup_expr="gte")
    end = DateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Recording
        fields = ["camera", "kind", "start", "end"]


class RecordingViewSet(CrowdSafeViewSet):
    serializer_class = RecordingSerializer
    filterset_class = RecordingFilter
    queryset = Recording.objects.select_related("camera").order_by("-started_at", "-id")
    _roles = {"list": IsViewer, "retrieve": IsViewer, "download": IsOperator}

    def get_permissions(self):
        return [self._roles.get(self.action, IsAdmin)()]

    @extend_schema(responses={200: RecordingSerializer(many=True), 400: ErrorSerializer, **_errors})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RecordingSerializer(page, many=True).data)

    @extend_schema(responses={200: RecordingSerializer, **_errors})
    def retrieve(self, request, pk=None):
        return Response(RecordingSerializer(self.get_object()).data)

    @extend_schema(responses={204: None, **_errors})
    def destroy(self, request, pk=None):
        delete_recording(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY), **_errors}
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The video file, streamed in chunks (never read into memory)."""
        recording = self.get_object()
        try:
            path = Path(recording.file.path)
        except (ValueError, NotImplementedError) as exc:
            raise exceptions.NotFound("The recording has no file.") from exc
        if not path.is_file():
            raise exceptions.NotFound("The recording's file is missing.")
        name = get_valid_filename(path.name) or f"recording_{recording.pk}.mp4"
        return file_response(request, path, download_name=name)
