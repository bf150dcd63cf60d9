"""Fixtures for the page tests: a camera, alerts and metrics seeded through the real models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertLevel, AlertStatus, AlertTrigger
from analytics.models import Metric, RiskLevel
from cameras.models import Camera, CameraStatus, DesiredState, SourceType


@pytest.fixture
def media(settings, tmp_path):
    """Uploads and recordings go to a throwaway folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_DIR = settings.MEDIA_ROOT / "uploads"
    settings.RECORDINGS_DIR = settings.MEDIA_ROOT / "recordings"
    settings.SNAPSHOTS_DIR = settings.MEDIA_ROOT / "snapshots"
    for path in (settings.UPLOAD_DIR, settings.RECORDINGS_DIR, settings.SNAPSHOTS_DIR):
        path.mkdir(parents=True)
    return settings.MEDIA_ROOT


@pytest.fixture
def camera(db) -> Camera:
    return Camera.objects.create(
        name="North Gate",
        location="Gate 3",
        source_type=SourceType.RTSP,
        source="rtsp://cam:s3cret-pw@10.0.0.5:554/stream1",
        area_m2=50,
        capacity=200,
        status=CameraStatus.RUNNING,
        desired_state=DesiredState.RUNNING,
    )


@pytest.fixture
def make_alert(camera):
    def make(level=AlertLevel.WARNING, status=AlertStatus.OPEN, message="Density 4.5 p/m² in North Gate"):
        return Alert.objects.create(
            camera=camera,
            level=level,
            trigger=AlertTrigger.DENSITY,
            message=message,
            status=status,
            metrics={"scope": {"count": 40, "density": 4.5, "risk_score": 0.62}},
        )

    return make


@pytest.fixture
def seeded_metrics(camera) -> list[Metric]:
    """Two hours of one row per minute, counts 0..119, a CRITICAL row in the last hour."""
    now = timezone.now().replace(microsecond=0)
    rows = []
    for i in range(120):
        at = now - timedelta(minutes=119 - i)
        level = RiskLevel.CRITICAL if i == 110 else RiskLevel.SAFE
        rows.append(
            Metric(
                camera=camera,
                timestamp=at,
                count=i,
                count_max=i + 1,
                density=i / 50,
                avg_speed=0.8,
                max_speed=1.5,
                risk_score=0.9 if i == 110 else 0.1,
                risk_level=level,
            )
        )
    return Metric.objects.bulk_create(rows)
