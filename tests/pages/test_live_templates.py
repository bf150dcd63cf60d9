"""The fragments the websocket consumers send: out-of-band swaps by id, rendered from real payloads."""

from __future__ import annotations

import re

from django.template.loader import render_to_string

FRAME = {
    "camera_id": 5,
    "name": "Gate",
    "status": "running",
    "count": 23,
    "tracked_count": 20,
    "density": 1.84,
    "level_of_service": "C",
    "density_level": "SAFE",
    "avg_speed": 0.91,
    "max_speed": 2.2,
    "surge": 0.12,
    "stagnation": False,
    "flow_in": 3,
    "flow_out": 1,
    "risk_score": 0.31,
    "risk_level": "CAUTION",
    "num_clusters": 2,
    "flow_coherence": 0.66,
    "pressure": 0.2,
    "anomaly_count": 1,
    "density_trend": {"label": "rising", "forecast": 2.1, "horizon_s": 30.0},
    "risk_trend": {"label": "stable", "forecast": 0.33, "horizon_s": 30.0},
    "capacity_utilization": 11.5,
    "calibrated": False,
    "zones": [
        {
            "id": 1,
            "name": "Pit",
            "count": 9,
            "density": 3.2,
            "level_of_service": "D",
            "risk_level": "WARNING",
            "capacity_utilization": 45.0,
        }
    ],
    "lines": [{"id": 1, "name": "Turnstile", "in_total": 40, "out_total": 12}],
}


def _oob_ids(html: str) -> list[str]:
    return re.findall(r'id="([^"]+)"[^>]*hx-swap-oob="true"', html)


def test_camera_update_fragment():
    html = render_to_string("live/camera_update.html", {"data": FRAME})
    assert _oob_ids(html) == ["cam-5-live", "cam-5-point", "camera-status-5"]
    assert 'id="cam-5-count">23<' in html and "LOS C" in html and "risk-caution" in html
    assert "Pit" in html and "WARNING" in html and "Turnstile" in html and ">40<" in html
    assert 'data-count="23"' in html and 'data-risk="31"' in html and "data-seen" not in html
    assert "0.91 m/s" in html and "rising" in html and "12%" in html  # surge 0.12 -> 12 %


def test_dashboard_update_fragment():
    keys = ("camera_id", "name", "count", "density", "risk_level", "risk_score", "status")
    data = {k: FRAME[k] for k in keys}
    html = render_to_string("live/dashboard_update.html", {"data": data})
    assert _oob_ids(html) == ["dash-cam-5"]
    assert 'data-count="23"' in html and 'data-risk-level="CAUTION"' in html
    assert 'data-status="running"' in html


def test_camera_status_fragment():
    html = render_to_string(
        "live/camera_status.html",
        {"data": {"camera_id": 5, "status": "error", "detail": "no frames for 10 s"}},
    )
    assert _oob_ids(html) == ["camera-status-5"] and "status-error" in html and "no frames" in html


def test_alert_fragments():
    data = {
        "id": 9,
        "camera_name": "Gate <b>",
        "zone_name": "",
        "level": "CRITICAL",
        "trigger": "density",
        "trigger_display": "Density over threshold",
        "message": "6.1 p/m²",
        "unacknowledged_count": 3,
    }
    html = render_to_string("live/alert_new.html", {"data": data})
    assert 'hx-swap-oob="beforeend:#toasts"' in html and 'data-alert-id="9"' in html
    assert "Gate &lt;b&gt;" in html  # escaped
    assert "Review" not in html  # a summary without the alert's page (older pushes)
    assert '<a class="btn" href="/alerts/9/">Review</a>' in render_to_string(
        "live/alert_new.html", {"data": {**data, "url": "/alerts/9/"}}
    )
    assert 'id="alert-badge" hx-swap-oob="true"' in html and 'data-count="3"' in html
    changed = render_to_string("live/alert_changed.html", {"data": {**data, "unacknowledged_count": 0}})
    assert 'data-count="0"' in changed and "zero" in changed
