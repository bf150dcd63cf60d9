"""What operators see of tiling, input size and count quality: camera page, dashboard, forms."""

from __future__ import annotations

import numpy as np
import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from analytics.engine import CameraGeometry, CountQuality, CrowdEngine, TilingState
from cameras import live
from cameras.models import Camera
from core.runtime_settings import get_runtime_settings, invalidate_cache

NOTE = "fixed-size export: imgsz 960 ignored, runs at 640"
BADGE = "Count unreliable: detector saturated, many people too small to detect · ≈15 people estimated"


def _payload(camera_id: int, **quality) -> dict:
    """A real engine frame as the runner publishes it, with the engine's quality fields set."""
    engine = CrowdEngine(None, geometry=CameraGeometry(area_m2=50))
    boxes = np.array([[10 + 30 * i, 100, 30 + 30 * i, 160] for i in range(6)], float)
    result = engine.analyse((boxes, np.arange(6), None), 2.0, (1280, 720))
    result.count_quality = CountQuality(
        **(
            quality
            or {
                "level": "unreliable",
                "reasons": ["saturated", "small_boxes"],
                "undercount_factor": 2.5,
                "estimated_count": 15,
            }
        )
    )
    result.tiling = TilingState(mode="auto", active=True, grid=(3, 2), reason="many small boxes")
    result.imgsz, result.imgsz_note = 640, NOTE
    return {
        **result.to_dict(include_persons=False),
        "camera_id": camera_id,
        "name": "Gate",
        "status": "running",
    }


@pytest.fixture
def live_camera(camera):
    live.store_metrics(camera.pk, _payload(camera.pk))
    yield camera
    live.clear_live_state(camera.pk)


def test_camera_page_shows_the_mode_in_force_the_note_and_the_quality(client_as, users, live_camera):
    page = client_as(users["viewer"]).get(reverse("camera_detail", args=[live_camera.pk])).content.decode()
    assert f'id="cam-{live_camera.pk}-tiling">Tiling: auto (on, 3x2)<' in page
    assert NOTE in page and "input 640 px" in page
    assert f'id="cam-{live_camera.pk}-quality" data-count-quality="unreliable"' in page
    assert BADGE in page and "quality-unreliable" in page
    assert "s⁻²" in page  # pressure in Helbing's unit
    assert "Sliced inference set to auto" in page and "detector input default size" in page


def test_dashboard_tile_shows_the_quality_badge(client_as, users, live_camera):
    dash = client_as(users["viewer"]).get(reverse("dashboard")).content.decode()
    assert f'id="dash-cam-{live_camera.pk}-quality" data-count-quality="unreliable"' in dash
    assert BADGE in dash


def test_live_fragments_carry_the_badge_and_the_mode():
    data = _payload(5)
    html = render_to_string("live/camera_update.html", {"data": data})
    assert 'id="cam-5-quality" data-count-quality="unreliable"' in html and BADGE in html
    assert "Tiling: auto (on, 3x2)" in html and NOTE in html
    summary = {
        k: data[k] for k in ("camera_id", "name", "count", "density", "risk_level", "risk_score", "status")
    }
    summary["count_quality"] = data["count_quality"]
    dash = render_to_string("live/dashboard_update.html", {"data": summary})
    assert 'id="dash-cam-5-quality"' in dash and 'data-count-quality="unreliable"' in dash


@pytest.mark.parametrize(
    ("tiling", "label"),
    [
        ({"mode": "auto", "active": False, "grid": [1, 1]}, "Tiling: auto (off)"),
        ({"mode": "on", "active": True, "grid": [2, 2]}, "Tiling: on (2x2)"),
        (
            {"mode": "auto", "active": True, "grid": [4, 3], "mirrored": True},
            "Tiling: auto (on, 4x3 + mirror)",
        ),
        ({"mode": "off", "active": False, "grid": [1, 1]}, "Tiling: off"),
    ],
)
def test_tiling_labels(tiling, label):
    data = {**_payload(5), "tiling": {**tiling, "reason": ""}, "imgsz_note": ""}
    html = render_to_string("live/camera_update.html", {"data": data})
    assert label in html and "imgsz-note" not in html


def test_an_ok_count_shows_a_plain_badge_and_old_payloads_show_none():
    ok = _payload(5, level="ok")
    html = render_to_string("live/camera_update.html", {"data": ok})
    assert ">Count ok</span>" in html and "estimated" not in html
    old = {k: v for k, v in ok.items() if k not in ("count_quality", "tiling", "imgsz", "imgsz_note")}
    html = render_to_string("live/camera_update.html", {"data": old})
    assert "data-count-quality" not in html and "Tiling" not in html


def test_camera_form_sets_tiling_and_input_size_and_refuses_bad_sizes(client_as, users, camera):
    client = client_as(users["admin"])
    form = client.get(reverse("camera_edit", args=[camera.pk])).content.decode()
    assert 'name="tiling_mode"' in form and 'name="detector_imgsz"' in form
    base = {
        "name": camera.name,
        "location": camera.location,
        "source_type": camera.source_type,
        "source": "rtsp://cam:***@10.0.0.5:554/stream1",
        "area_m2": "50",
        "capacity": "200",
        "target_fps": "10",
    }
    response = client.post(reverse("camera_edit", args=[camera.pk]), {**base, "detector_imgsz": "1000"})
    assert response.status_code == 400
    assert "multiple of 32" in response.content.decode()
    camera.refresh_from_db()
    assert camera.detector_imgsz is None
    response = client.post(
        reverse("camera_edit", args=[camera.pk]), {**base, "tiling_mode": "off", "detector_imgsz": "1280"}
    )
    assert response.status_code == 302
    camera.refresh_from_db()
    assert (camera.tiling_mode, camera.detector_imgsz) == ("off", 1280)
    # A form without the mode (an older client) keeps it.
    client.post(reverse("camera_edit", args=[camera.pk]), {**base, "detector_imgsz": "1280"})
    assert Camera.objects.get(pk=camera.pk).tiling_mode == "off"


def test_settings_page_has_the_pressure_radius(client_as, users):
    from core.forms import EDITABLE

    client = client_as(users["admin"])
    assert 'name="pressure_radius_m"' in client.get(reverse("settings")).content.decode()
    invalidate_cache()
    current = get_runtime_settings()
    data = {name: getattr(current, name) for name in EDITABLE}
    post = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    assert client.post(reverse("settings"), {**post, "pressure_radius_m": "0"}).status_code == 400
    invalidate_cache()
    assert get_runtime_settings().pressure_radius_m == 1.0
    assert client.post(reverse("settings"), {**post, "pressure_radius_m": "2"}).status_code == 302
    invalidate_cache()
    assert get_runtime_settings().pressure_radius_m == 2.0


def test_analytics_page_says_how_much_of_the_period_the_count_was_reliable(client_as, users, seeded_metrics):
    from analytics.models import Metric

    newest = sorted(seeded_metrics, key=lambda m: m.timestamp)[-6:]  # 6 of the last hour's 60 rows
    Metric.objects.filter(pk__in=[m.pk for m in newest]).update(count_quality="unreliable")
    html = client_as(users["viewer"]).get(reverse("analytics"), {"preset": "1h"}).content.decode()
    assert 'id="sum-quality-ok">90%<' in html and "unreliable 10%" in html and "quality-unreliable" in html


def test_analytics_raw_rows_show_each_seconds_quality(client_as, users, seeded_metrics):
    from analytics.models import Metric

    newest = max(seeded_metrics, key=lambda m: m.timestamp)
    Metric.objects.filter(pk=newest.pk).update(count_quality="degraded", undercount_factor=1.25)
    html = (
        client_as(users["viewer"])
        .get(reverse("analytics"), {"preset": "1h"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="raw-table")
        .content.decode()
    )
    assert '<th scope="col">Count quality</th>' in html
    assert '<td class="quality-degraded">degraded ×1.25</td>' in html
    assert html.count('<td class="quality-ok">ok</td>') == 49  # a page of 50 rows, newest first
