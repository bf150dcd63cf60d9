"""Count quality in the stored seconds, and the camera's detection settings reaching the engine.

Frames come from the real engine's `analyse()` on synthetic boxes; the quality fields are set
on them as the engine sets them (CountQuality / TilingState), since a synthetic frame has no
pixels to judge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from analytics.engine import CameraGeometry, CountQuality, CrowdEngine, TilingState, ZoneSpec
from analytics.metrics_writer import MetricsWriter
from analytics.models import Metric
from cameras import services
from cameras.models import Zone
from cameras.runtime.engine_setup import ConfigWatcher, build_engine, engine_config
from core.runtime_settings import update_runtime_settings

pytestmark = pytest.mark.django_db

ORIGIN = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _boxes(n: int) -> tuple:
    xyxy = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(n)], float)
    return xyxy, np.arange(n), None


def _frame(engine: CrowdEngine, ts: float, level: str = "ok", reasons=(), factor=None, tiled=False):
    result = engine.analyse(_boxes(4), ts, (640, 480))
    result.count_quality = CountQuality(
        level=level,
        reasons=list(reasons),
        undercount_factor=factor,
        estimated_count=round(result.count * factor) if factor else None,
    )
    result.tiling = TilingState(mode="auto", active=tiled, grid=(3, 2) if tiled else (1, 1))
    return result


def test_a_second_keeps_the_worst_quality_the_union_of_reasons_and_the_largest_factor():
    camera = services.create_camera(name="Quality", area_m2=10)
    zone = Zone.objects.create(
        camera=camera, name="All", polygon=[[0, 0], [1, 0], [1, 1], [0, 1]], area_m2=10
    )
    engine = CrowdEngine(
        None, geometry=CameraGeometry(area_m2=10, zones=[ZoneSpec(zone.pk, "All", zone.polygon, 10)])
    )
    writer = MetricsWriter(camera.pk, ORIGIN, batch_size=100)
    frames = [
        (0.0, "ok", (), None, False),
        (0.5, "degraded", ("small_boxes",), 1.3, True),
        (1.0, "unreliable", ("saturated",), 2.0, False),
        (1.5, "degraded", ("overlap", "small_boxes"), 1.5, False),
        (2.0, "ok", (), None, False),
    ]
    for ts, level, reasons, factor, tiled in frames:
        writer.add(_frame(engine, ts, level, reasons, factor, tiled))
    writer.close()

    for zone_filter in ({"zone": None}, {"zone": zone}):
        rows = list(Metric.objects.filter(camera=camera, **zone_filter).order_by("timestamp"))
        assert [r.timestamp for r in rows] == [ORIGIN + timedelta(seconds=s) for s in (0, 1, 2)]
        assert [(r.count_quality, r.quality_reasons, r.undercount_factor, r.tiled) for r in rows] == [
            ("degraded", ["small_boxes"], 1.3, True),
            ("unreliable", ["saturated", "small_boxes", "overlap"], 2.0, False),
            ("ok", [], None, False),
        ]


def test_pressure_is_stored_in_s2_unbounded_and_never_negative():
    camera = services.create_camera(name="Pressure", area_m2=10)
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=10))
    writer = MetricsWriter(camera.pk, ORIGIN)
    for ts, pressure in ((0.0, 0.015), (0.5, 3.25), (1.0, -0.1)):
        frame = _frame(engine, ts)
        frame.pressure = pressure
        writer.add(frame)
    writer.close()
    first, second = Metric.objects.filter(camera=camera).order_by("timestamp")
    assert first.pressure == 3.25 and second.pressure == 0.0  # the peak of the second, s⁻²
    first.full_clean()  # above 1 is valid now
    first.pressure = -0.5
    with pytest.raises(ValidationError) as exc:
        first.full_clean()
    assert "pressure" in exc.value.message_dict


def test_camera_and_runtime_settings_reach_the_engine_and_change_live():
    camera = services.create_camera(name="Tiling", area_m2=10, tiling_mode="on", detector_imgsz=960)
    update_runtime_settings({"pressure_radius_m": 1.5})
    config = engine_config(camera=camera)
    assert (config.tiling, config.imgsz, config.pressure_radius_m) == ("on", 960, 1.5)
    default = services.create_camera(name="Default", area_m2=10)
    assert (engine_config(camera=default).tiling, engine_config(camera=default).imgsz) == ("auto", None)

    engine = build_engine(camera, None)
    assert (engine.config.tiling, engine.config.imgsz) == ("on", 960)
    watcher = ConfigWatcher(engine, camera, interval_s=0)
    services.update_camera(camera, tiling_mode="off", detector_imgsz=None)
    update_runtime_settings({"pressure_radius_m": 2.5})
    watcher.refresh(camera)
    engine.analyse(_boxes(2), 0.0, (640, 480))  # applied from the next frame, no restart
    assert (engine.config.tiling, engine.config.imgsz, engine.config.pressure_radius_m) == ("off", None, 2.5)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tiling_mode": "sometimes"}, "tiling_mode"),
        ({"detector_imgsz": 1000}, "detector_imgsz"),  # not a multiple of 32
        ({"detector_imgsz": 128}, "detector_imgsz"),
        ({"detector_imgsz": 2592}, "detector_imgsz"),
    ],
)
def test_bad_detection_settings_are_refused_and_nothing_is_saved(fields, field):
    camera = services.create_camera(name="Strict", area_m2=10)
    with pytest.raises(ValidationError) as exc:
        services.update_camera(camera, **fields)
    assert field in exc.value.message_dict
    camera.refresh_from_db()
    assert (camera.tiling_mode, camera.detector_imgsz) == ("auto", None)


@pytest.mark.parametrize("value", [0, -1, 5.01])
def test_pressure_radius_must_be_above_zero_and_at_most_5_m(value):
    with pytest.raises(ValidationError) as exc:
        update_runtime_settings({"pressure_radius_m": value})
    assert "pressure_radius_m" in exc.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_a_file_camera_with_tiling_on_stores_tiled_seconds_with_their_quality(
    vtest_avi, test_model, media_root, tmp_path
):
    """The camera's mode reaches the real detector through the runner, and the rows say so."""
    from cameras.models import DesiredState
    from cameras.runtime import runner
    from cameras.uploads import import_video_file
    from tests.runtime.helpers import cut_clip

    clip = cut_clip(vtest_avi, tmp_path / "vtest-2s.avi", 2.0)  # tiles cost several detector runs
    camera = services.create_camera(name="Tiled", area_m2=50, target_fps=10, tiling_mode="on")
    import_video_file(camera, clip)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()
    assert runner.run(camera.pk) == runner.FINISHED
    rows = list(Metric.objects.filter(camera=camera, zone=None).order_by("timestamp"))
    assert len(rows) == 2 and all(r.tiled for r in rows)
    assert all(r.count_quality in ("ok", "degraded", "unreliable") for r in rows)
    assert all(r.pressure >= 0 for r in rows)
