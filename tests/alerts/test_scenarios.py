"""Scenarios through `alerts.hooks.on_frame` with the real database and Redis.

Frames are real engine `FrameResult`s at 10 frames per second of video; the settings are the
product defaults (debounce 2 s, cooldown 60 s, all clear after 30 s at SAFE).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from alerts.hooks import forget_caches, on_frame, process_frame
from alerts.models import Alert, AlertEvent
from alerts.services import acknowledge_alert, resolve_alert
from core.models import SystemLog
from core.runtime_settings import update_runtime_settings
from tests.alerts.frames import feed, jpeg, make_frame, timeline, zone


def actions(alert: Alert) -> list[str]:
    return list(alert.events.values_list("action", flat=True))


def by_trigger() -> dict[str, Alert]:
    alerts = list(Alert.objects.all())
    found = {a.trigger: a for a in alerts}
    assert len(found) == len(alerts), "one alert per trigger expected"
    return found


def test_rising_density_warning_then_immediate_critical_then_all_clear(camera):
    feed(on_frame, camera, 0, 10, density=1.0)
    assert Alert.objects.count() == 0

    feed(on_frame, camera, 10, 20, density=4.5)
    alerts = by_trigger()
    # One crowding event, one alert: the risk level that follows the density adds none.
    assert set(alerts) == {"density"}
    density = alerts["density"]
    assert density.level == "WARNING" and density.status == "open" and density.zone is None
    assert density.video_time_s == pytest.approx(12.0)  # 10.0 + the 2 s debounce
    assert density.metrics["scope"]["density"] == 4.5 and density.metrics["count"] == 450
    assert density.metrics["scope"]["timestamp"] == pytest.approx(12.0)
    assert density.snapshot.read() == jpeg("4.5")
    assert "4.50 p/m²" in density.message and "threshold 4.00" in density.message
    assert actions(density) == ["raised"]

    feed(on_frame, camera, 20, 21, density=6.5)  # one second is enough: escalation is immediate
    density.refresh_from_db()
    assert Alert.objects.count() == 1
    assert density.level == "CRITICAL" and actions(density) == ["raised", "escalated"]
    assert density.metrics["escalation"]["scope"]["timestamp"] == pytest.approx(20.0)
    assert density.metrics["scope"]["density"] == 4.5  # what raised it is kept

    feed(on_frame, camera, 21, 40, density=6.5)  # persists: updated, never duplicated
    assert Alert.objects.count() == 1
    density.refresh_from_db()
    assert density.peak_metrics["density"] == 6.5 and density.peak_metrics["risk_level"] == "CRITICAL"

    feed(on_frame, camera, 40, 69.8, density=1.0)  # SAFE from 40 s: not yet 30 s
    density.refresh_from_db()
    assert density.all_clear_at is None
    feed(on_frame, camera, 69.8, 75, density=1.0)
    for alert in Alert.objects.all():
        assert actions(alert) == ["raised", "escalated", "all_clear"]
        assert alert.all_clear_at is not None and alert.status == "open"  # still to be resolved
    assert Alert.objects.count() == 1


def test_flicker_around_the_threshold_gives_at_most_one_alert(camera):
    # Slow flicker: 1 s over 4 p/m², 1 s under, for a minute. Never holds for 2 s: no alert.
    for ts in timeline(0, 60):
        density = 4.1 if int(ts) % 2 == 0 else 3.9
        on_frame(camera, make_frame(ts, density, risk_level="CAUTION"), jpeg())
    assert Alert.objects.count() == 0
    # Fast flicker (every other frame): the short dropouts are bridged, one alert, no storm.
    for ts in timeline(60, 120):
        density = 4.1 if round(ts * 10) % 2 == 0 else 3.9
        on_frame(camera, make_frame(ts, density, risk_level="CAUTION"), jpeg())
    alerts = list(Alert.objects.all())
    assert len(alerts) == 1 and alerts[0].trigger == "density" and alerts[0].level == "WARNING"
    assert actions(alerts[0]) == ["raised"]


def test_no_duplicate_inside_the_cooldown_even_after_a_restart_or_a_resolve(camera, operator_user):
    feed(on_frame, camera, 0, 5, density=4.5)
    first = by_trigger()
    assert set(first) == {"density"}

    # The runner restarts: its video clock starts again at 0 and its process caches are gone.
    forget_caches()
    feed(on_frame, camera, 0, 10, density=4.5)
    assert Alert.objects.count() == 1

    # An operator resolves it while the crowd is still dense: quiet inside the cooldown...
    for alert in first.values():
        resolve_alert(alert, user=operator_user, note="stewards sent")
    feed(on_frame, camera, 10, 20, density=4.5)
    assert Alert.objects.count() == 1
    # ...and a new alert as soon as it ends, since the condition still holds.
    later = time.time() + 61
    for ts in timeline(20, 21):
        process_frame(camera, make_frame(ts, 4.5), jpeg(), now=later)
    assert Alert.objects.count() == 2
    new = Alert.objects.filter(status="open")
    assert {a.trigger for a in new} == {"density"}
    assert all(a.video_time_s == pytest.approx(20.0) for a in new)


def test_escalation_after_a_resolve_fires_at_once_despite_the_cooldown(camera, operator_user):
    feed(on_frame, camera, 0, 5, density=4.5, risk_level="CAUTION")
    (alert,) = Alert.objects.all()
    resolve_alert(alert, user=operator_user)
    feed(on_frame, camera, 5, 8, density=6.5, risk_level="CAUTION")
    # Over 4 p/m² without a break since 0 s, so no new debounce: CRITICAL at 5.0 fires at once.
    new = Alert.objects.exclude(pk=alert.pk).get()
    assert new.level == "CRITICAL" and new.trigger == "density" and new.video_time_s == pytest.approx(5.0)


def test_escalation_reopens_an_acknowledged_alert(camera, operator_user):
    feed(on_frame, camera, 0, 5, density=4.5, risk_level="CAUTION")
    (alert,) = Alert.objects.all()
    acknowledge_alert(alert, user=operator_user, note="watching")
    feed(on_frame, camera, 5, 6, density=6.5, risk_level="CAUTION")
    alert.refresh_from_db()
    assert alert.level == "CRITICAL" and alert.status == "open" and alert.acknowledged_by is None
    assert actions(alert) == ["raised", "acknowledged", "escalated"]  # the trail keeps the ack


def test_condition_back_inside_the_cooldown_reopens_the_all_cleared_alert(camera):
    feed(on_frame, camera, 0, 5, density=4.5, risk_level="CAUTION")
    feed(on_frame, camera, 5, 36, density=1.0)
    (alert,) = Alert.objects.all()
    alert.refresh_from_db()
    assert alert.all_clear_at is not None
    feed(on_frame, camera, 36, 40, density=4.5, risk_level="CAUTION")
    alert.refresh_from_db()
    assert Alert.objects.count() == 1
    assert alert.all_clear_at is None and actions(alert) == ["raised", "all_clear", "updated"]


def test_zone_alert_with_the_zone_override(camera):
    from cameras.models import Zone

    gate = Zone.objects.create(
        camera=camera,
        name="Gate_A <east>",
        polygon=[[0, 0], [0.5, 0], [0.5, 0.5]],
        area_m2=25,
        density_warning=2.0,
        density_critical=3.0,
    )
    for ts in timeline(0, 5):
        on_frame(camera, make_frame(ts, 1.0, zones=[zone(gate.pk, gate.name, 2.5)]), jpeg())
    alert = Alert.objects.get()
    assert alert.zone == gate and alert.trigger == "density" and alert.level == "WARNING"
    assert "zone Gate_A <east>" in alert.message and alert.metrics["threshold"] == 2.0
    for ts in timeline(5, 6):
        zones = [zone(gate.pk, gate.name, 3.5, risk_level="CAUTION")]
        on_frame(camera, make_frame(ts, 1.0, zones=zones), jpeg())
    alert.refresh_from_db()
    assert alert.level == "CRITICAL" and Alert.objects.count() == 1


def test_surge_and_stagnation_triggers(camera):
    feed(on_frame, camera, 0, 3, density=1.0, surge=0.7)
    surge = Alert.objects.get(trigger="surge")
    assert surge.level == "WARNING" and "surge 0.70" in surge.message
    feed(on_frame, camera, 3, 4, density=1.0, surge=0.9)
    surge.refresh_from_db()
    assert surge.level == "CRITICAL"
    feed(on_frame, camera, 4, 7, density=4.5, stagnation=True, avg_speed=0.05, risk_level="CAUTION")
    stagnation = Alert.objects.get(trigger="stagnation")
    assert stagnation.level == "WARNING" and "stagnating" in stagnation.message


def test_a_real_engine_run_raises_a_density_alert(camera):
    """The engine itself (no detector): people pile up in a 100 m² view until density > 4 p/m²."""
    from analytics.engine import CameraGeometry, CrowdEngine

    engine = CrowdEngine(geometry=CameraGeometry(area_m2=100.0))
    rng = np.random.default_rng(1)
    positions = rng.uniform(20, 980, size=(500, 2))
    for i, ts in enumerate(timeline(0, 20, fps=5)):
        n = min(500, 50 + i * 8)  # 50 people, then 8 more every frame, capped at 500 (5 p/m²)
        xy = positions[:n]
        boxes = np.column_stack([xy[:, 0] - 6, xy[:, 1] - 30, xy[:, 0] + 6, xy[:, 1]])
        result = engine.analyse((boxes, np.arange(n), None), ts, (1000, 1000))
        on_frame(camera, result, jpeg())
    alert = Alert.objects.get(trigger="density")
    assert alert.level == "WARNING" and alert.metrics["scope"]["density"] >= 4.0
    assert alert.metrics["frame_width"] == 1000  # the engine's own to_dict() was stored


def test_alerts_switched_off_raise_nothing(camera):
    update_runtime_settings({"alerts_enabled": False})
    feed(on_frame, camera, 0, 5, density=6.5)
    assert Alert.objects.count() == 0


def test_on_frame_never_raises_into_the_runner(camera):
    on_frame(camera, "not a frame result", None)  # a bug upstream: logged, not raised
    on_frame(camera, None, None)  # throttled: the log gets one entry per camera per 30 s
    logs = SystemLog.objects.filter(component="alerts", level="ERROR")
    assert logs.count() == 1 and f"camera {camera.pk}" in logs.get().message
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")  # and it carries on
    assert Alert.objects.count() == 1
    assert AlertEvent.objects.count() == 1


def test_a_snapshot_that_cannot_be_written_does_not_cost_the_alert(camera, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    feed(on_frame, camera, 3, 4, density=6.5, risk_level="CAUTION")
    alert = Alert.objects.get()
    assert alert.level == "CRITICAL" and not alert.snapshot and "snapshot" not in alert.metrics["escalation"]
    assert SystemLog.objects.filter(component="alerts", message__contains="snapshot not saved").count() == 2


def test_a_lazy_snapshot_is_encoded_only_for_the_frames_that_raise_or_escalate(camera):
    """The runner passes a callable; it runs for the raise and the escalation, not per frame."""
    from django.core.files.storage import default_storage

    encoded: list[float] = []

    def lazy(density: float):
        def encode() -> bytes:
            encoded.append(density)
            return jpeg(f"{density}")

        return encode

    for density, (start, end) in ((4.5, (0, 10)), (6.5, (10, 15))):
        for ts in timeline(start, end, 10.0):
            on_frame(camera, make_frame(ts, density=density), lazy(density))
    assert encoded == [4.5, 6.5]  # 150 frames, two pictures
    alert = Alert.objects.get()
    assert alert.level == "CRITICAL"
    with alert.snapshot.open("rb") as f:
        assert f.read() == jpeg("4.5")
    with default_storage.open(alert.metrics["escalation"]["snapshot"], "rb") as f:
        assert f.read() == jpeg("6.5")
