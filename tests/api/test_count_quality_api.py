"""Tiling, input size and count quality through the API: cameras, metrics and settings."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analytics.engine import CameraGeometry, CountQuality, CrowdEngine, TilingState
from analytics.models import Metric
from cameras import live
from tests.api.conftest import metric_value

pytestmark = pytest.mark.django_db

NOTE = "fixed-size export: imgsz 960 ignored, runs at 640"


def _live_payload(camera) -> dict:
    """What the runner publishes: a real engine frame with the engine's quality and tiling."""
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=150))
    boxes = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(6)], float)
    result = engine.analyse((boxes, np.arange(6), None), 3.0, (1280, 720))
    result.count_quality = CountQuality("unreliable", ["saturated", "small_boxes"], 2.5, 15)
    result.tiling = TilingState(mode="auto", active=True, grid=(3, 2), reason="small people")
    result.imgsz, result.imgsz_note = 640, NOTE
    return {**result.to_dict(include_persons=False), "camera_id": camera.pk, "name": camera.name}


@pytest.fixture
def live_camera(camera):
    live.store_metrics(camera.pk, _live_payload(camera))
    yield camera
    live.clear_live_state(camera.pk)


def test_admin_sets_tiling_and_input_size_and_every_role_reads_them(api_as, admin_user, viewer_user, camera):
    api = api_as(admin_user)
    response = api.patch(
        f"/api/cameras/{camera.pk}/", {"tiling_mode": "on", "detector_imgsz": 1280}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["tiling_mode"], response.json()["detector_imgsz"]) == ("on", 1280)
    camera.refresh_from_db()
    assert (camera.tiling_mode, camera.detector_imgsz) == ("on", 1280)
    shown = api_as(viewer_user).get(f"/api/cameras/{camera.pk}/").json()
    assert (shown["tiling_mode"], shown["detector_imgsz"], shown["detection"]) == ("on", 1280, None)
    # null goes back to the deployment's size.
    response = api.patch(f"/api/cameras/{camera.pk}/", {"detector_imgsz": None}, format="json")
    assert response.status_code == 200 and response.json()["detector_imgsz"] is None
    created = api.post(
        "/api/cameras/",
        {"name": "New", "source_type": "usb", "source": "0", "tiling_mode": "off"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["tiling_mode"] == "off"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tiling_mode": "sometimes"}, "tiling_mode"),
        ({"detector_imgsz": 1000}, "detector_imgsz"),
        ({"detector_imgsz": 96}, "detector_imgsz"),
        ({"detector_imgsz": 4096}, "detector_imgsz"),
        ({"detector_imgsz": "large"}, "detector_imgsz"),
    ],
)
def test_bad_values_get_a_400_naming_the_field_and_nothing_changes(api_as, admin_user, camera, body, field):
    response = api_as(admin_user).patch(f"/api/cameras/{camera.pk}/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    camera.refresh_from_db()
    assert (camera.tiling_mode, camera.detector_imgsz) == ("auto", None)


def test_only_admins_change_them(api_as, operator_user, camera):
    response = api_as(operator_user).patch(
        f"/api/cameras/{camera.pk}/", {"tiling_mode": "off"}, format="json"
    )
    assert response.status_code == 403
    camera.refresh_from_db()
    assert camera.tiling_mode == "auto"


def test_camera_detail_list_and_current_show_the_mode_in_force_and_the_quality(
    api_as, viewer_user, live_camera
):
    api = api_as(viewer_user)
    expected = {
        "tiling": {
            "mode": "auto", "active": True, "grid": [3, 2], "reason": "small people", "mirrored": False
        },
        "imgsz": 640,
        "imgsz_note": NOTE,
        "count_quality": {
            "level": "unreliable",
            "reasons": ["saturated", "small_boxes"],
            "undercount_factor": 2.5,
            "estimated_count": 15,
            "held": False,
        },
    }
    assert api.get(f"/api/cameras/{live_camera.pk}/").json()["detection"] == expected
    (listed,) = api.get("/api/cameras/").json()["results"]
    assert listed["detection"] == expected
    current = api.get(f"/api/metrics/{live_camera.pk}/current/").json()
    assert current["source"] == "live"
    assert current["count_quality"] == expected["count_quality"] and current["tiling"] == expected["tiling"]
    assert current["imgsz_note"] == NOTE


def test_current_from_a_stored_second_has_the_same_quality_shape(api_as, viewer_user, camera, hour_ago):
    Metric.objects.create(
        camera=camera,
        timestamp=hour_ago,
        **metric_value(1),
        pressure=0.031,
        count_quality="degraded",
        quality_reasons=["overlap"],
        undercount_factor=1.4,
        tiled=True,
    )
    current = api_as(viewer_user).get(f"/api/metrics/{camera.pk}/current/").json()
    assert current["source"] == "stored" and current["pressure"] == 0.031 and current["tiled"] is True
    count = metric_value(1)["count"]
    assert current["count_quality"] == {
        "level": "degraded",
        "reasons": ["overlap"],
        "undercount_factor": 1.4,
        "estimated_count": round(count * 1.4),
        "held": False,
    }


def _seed_quality(camera, start, seconds: int) -> None:
    """metric_value rows; seconds 100..159 degraded, 200..229 unreliable (×2.0)."""
    rows = []
    for s in range(seconds):
        q = {}
        if 100 <= s < 160:
            q = {"count_quality": "degraded", "quality_reasons": ["blur"], "undercount_factor": 1.2}
        elif 200 <= s < 230:
            q = {"count_quality": "unreliable", "quality_reasons": ["saturated"], "undercount_factor": 2.0}
        rows.append(
            Metric(
                camera=camera,
                timestamp=start + timedelta(seconds=s),
                tiled=s % 2 == 0,
                **metric_value(s),
                **q,
            )
        )
    Metric.objects.bulk_create(rows)


def test_history_points_carry_quality_raw_and_bucketed(api_as, viewer_user, camera, hour_ago):
    start = hour_ago.replace(second=0)  # minute buckets line up with the seeded stretches
    _seed_quality(camera, start, 600)
    api = api_as(viewer_user)
    end = (start + timedelta(seconds=600)).isoformat()
    raw = api.get(f"/api/metrics/{camera.pk}/", {"start": start.isoformat(), "end": end}).json()
    assert raw["step_seconds"] == 1
    point = raw["points"][210]
    assert (point["count_quality"], point["quality_reasons"], point["undercount_factor"]) == (
        "unreliable",
        ["saturated"],
        2.0,
    )
    assert point["estimated_count"] == metric_value(210)["count"] * 2 and point["tiled"] is True
    assert raw["points"][0]["count_quality"] == "ok" and raw["points"][0]["estimated_count"] is None

    bucketed = api.get(
        f"/api/metrics/{camera.pk}/", {"start": start.isoformat(), "end": end, "max_points": 10}
    ).json()
    assert bucketed["step_seconds"] == 60
    minutes = bucketed["points"]  # minute i holds seconds 60 i .. 60 i + 59
    assert len(minutes) == 10 and "quality_reasons" not in minutes[1]
    assert minutes[1]["count_quality"] == "degraded"  # 100..119 degraded
    assert minutes[1]["quality_seconds"] == {"ok": 40, "degraded": 20, "unreliable": 0}
    assert minutes[3]["count_quality"] == "unreliable" and minutes[3]["undercount_factor"] == 2.0
    assert minutes[3]["quality_seconds"] == {"ok": 30, "degraded": 0, "unreliable": 30}
    assert minutes[0]["count_quality"] == "ok" and minutes[0]["undercount_factor"] is None
    assert all(p["tiled"] for p in minutes)


def test_summary_and_aggregate_give_the_share_of_seconds_per_quality(api_as, viewer_user, camera, hour_ago):
    _seed_quality(camera, hour_ago, 600)
    api = api_as(viewer_user)
    params = {"start": hour_ago.isoformat(), "end": (hour_ago + timedelta(seconds=600)).isoformat()}
    summary = api.get(f"/api/metrics/{camera.pk}/summary/", params).json()
    assert summary["seconds_by_quality"] == {"ok": 510, "degraded": 60, "unreliable": 30}
    assert summary["share_by_quality"] == {"ok": 0.85, "degraded": 0.1, "unreliable": 0.05}
    assert summary["max_undercount_factor"] == 2.0 and summary["tiled_seconds"] == 300
    buckets = api.get(f"/api/metrics/{camera.pk}/aggregate/", {**params, "interval": "hourly"}).json()[
        "buckets"
    ]
    assert sum(b["seconds_by_quality"]["unreliable"] for b in buckets) == 30
    assert "unreliable" in {b["count_quality"] for b in buckets}


def test_an_empty_range_has_no_quality_share(api_as, viewer_user, camera):
    summary = api_as(viewer_user).get(f"/api/metrics/{camera.pk}/summary/", {"preset": "1h"}).json()
    assert summary["seconds_by_quality"] == {"ok": 0, "degraded": 0, "unreliable": 0}
    assert summary["share_by_quality"] == {"ok": 0.0, "degraded": 0.0, "unreliable": 0.0}
    assert summary["max_undercount_factor"] is None


def test_pressure_radius_is_a_risk_setting(api_as, admin_user, viewer_user):
    api = api_as(admin_user)
    assert api.get("/api/settings/risk/").json()["pressure_radius_m"] == 1.0
    for bad in (0, -0.5, 5.5, "wide"):
        response = api.put("/api/settings/risk/pressure_radius_m/", {"value": bad}, format="json")
        assert response.status_code == 400 and "pressure_radius_m" in response.json()["errors"], bad
    assert api.get("/api/settings/").json()["pressure_radius_m"] == 1.0
    response = api.put("/api/settings/risk/pressure_radius_m/", {"value": 1.5}, format="json")
    assert response.status_code == 200
    assert api.get("/api/settings/").json()["pressure_radius_m"] == 1.5
    assert api_as(viewer_user).get("/api/settings/risk/").status_code == 403
