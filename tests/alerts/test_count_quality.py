"""The "count unreliable" alert: debounced, cooled down, all-cleared and sent like the others.

Frames are real engine `FrameResult`s with the engine's `CountQuality` set as the engine
does for a saturated, distant crowd; the settings are the product defaults (debounce 2 s,
cooldown 60 s, all clear after 30 s).
"""

from __future__ import annotations

import time

import pytest

from alerts.hooks import on_frame, process_frame
from alerts.models import Alert, AlertTrigger
from alerts.notifications import build_caption
from alerts.tasks import send_alert_notification
from analytics.engine import CountQuality, FrameResult
from core.runtime_settings import update_runtime_settings
from tests.alerts.frames import jpeg, make_frame, timeline

REASONS = ["saturated", "small_boxes"]


def quality_frame(ts: float, level: str = "unreliable", *, density: float = 1.0) -> FrameResult:
    frame = make_frame(ts, density)  # 100 people counted on 100 m²: SAFE
    factor = 2.5 if level == "unreliable" else None
    frame.count_quality = CountQuality(
        level=level,
        reasons=REASONS if level != "ok" else [],
        undercount_factor=factor,
        estimated_count=round(frame.count * factor) if factor else None,
    )
    return frame


def feed_quality(camera, start: float, end: float, level: str = "unreliable", **kw) -> None:
    for ts in timeline(start, end):
        on_frame(camera, quality_frame(ts, level, **kw), jpeg("q"))


def events(alert: Alert) -> list[tuple[str, str]]:
    return list(alert.events.values_list("action", "note"))


def test_unreliable_for_the_debounce_raises_one_warning_naming_reasons_and_estimate(camera):
    feed_quality(camera, 0, 1.9)
    assert Alert.objects.count() == 0  # not yet held for 2 s of video
    feed_quality(camera, 1.9, 10)
    alert = Alert.objects.get()  # SAFE figures: only the count alert
    assert alert.trigger == AlertTrigger.COUNT_UNRELIABLE and alert.level == "WARNING"
    assert alert.zone is None and alert.video_time_s == pytest.approx(2.0)
    assert alert.message == (
        "WARNING: count unreliable (detector saturated, many people too small to detect): "
        "100 people counted, ≈250 estimated. The risk level (SAFE) may understate the crowd."
    )
    assert alert.metrics["count_quality"]["level"] == "unreliable"
    assert alert.metrics["scope"]["quality_reasons"] == REASONS
    assert alert.metrics["scope"]["estimated_count"] == 250
    assert alert.snapshot.read() == jpeg("q")


def test_degraded_or_ok_counts_raise_nothing(camera):
    feed_quality(camera, 0, 20, "degraded")
    feed_quality(camera, 20, 40, "ok")
    assert Alert.objects.count() == 0


def test_a_short_dropout_is_bridged_and_a_flicker_under_the_debounce_is_not_raised(camera):
    # 1.5 s unreliable, 1.5 s ok, for 30 s: never 2 s in a row, no alert.
    for ts in timeline(0, 30):
        on_frame(camera, quality_frame(ts, "unreliable" if ts % 3 < 1.5 else "ok"), jpeg())
    assert Alert.objects.count() == 0


def test_all_clear_when_the_count_is_reliable_again_then_cooldown_then_a_new_alert(camera):
    feed_quality(camera, 0, 5)
    alert = Alert.objects.get()
    # Reliable again (the crowd is still dense, WARNING by density: that is another alert).
    feed_quality(camera, 5, 34.8, "ok")
    alert.refresh_from_db()
    assert alert.all_clear_at is None
    feed_quality(camera, 34.8, 36, "ok")
    alert.refresh_from_db()
    assert alert.all_clear_at is not None and alert.status == "open"
    assert events(alert)[-1] == ("all_clear", "Count reliable again for 30 s.")

    # Back inside the cooldown: the same alert reopens, no second one.
    feed_quality(camera, 36, 40)
    assert Alert.objects.count() == 1
    alert.refresh_from_db()
    assert alert.all_clear_at is None and events(alert)[-1][0] == "updated"


def test_the_cooldown_applies_after_a_resolve(camera, operator_user):
    from alerts.services import resolve_alert

    feed_quality(camera, 0, 5)
    resolve_alert(Alert.objects.get(), user=operator_user)
    feed_quality(camera, 5, 15)
    assert Alert.objects.count() == 1  # quiet inside the cooldown
    later = time.time() + 61
    for ts in timeline(15, 16):
        process_frame(camera, quality_frame(ts), jpeg(), now=later)
    assert Alert.objects.filter(status="open", trigger="count_unreliable").count() == 1


def test_the_debounce_setting_applies(camera):
    update_runtime_settings({"alert_debounce_s": 5.0})
    feed_quality(camera, 0, 4.5)
    assert Alert.objects.count() == 0
    feed_quality(camera, 4.5, 6)
    assert Alert.objects.get().video_time_s == pytest.approx(5.0)


def test_a_real_crowd_alert_and_the_count_alert_are_separate(camera):
    feed_quality(camera, 0, 5, density=4.5)
    assert {a.trigger for a in Alert.objects.all()} == {"density", "count_unreliable"}


def test_telegram_gets_the_count_alert_and_its_all_clear(telegram_on, camera):
    feed_quality(camera, 0, 3)
    alert = Alert.objects.get()
    assert alert.notification_state == "pending"
    assert send_alert_notification(alert.pk) == "sent to 2 chat(s)"
    text = telegram_on.requests[0].rendered
    assert "Trigger: Count unreliable" in text and "≈250 estimated" in text
    assert "detector saturated" in text
    feed_quality(camera, 3, 34, "ok")
    alert.refresh_from_db()
    caption = build_caption(alert, "all_clear")
    assert "The count is reliable again; the alert still needs resolving." in caption


def test_api_and_alerts_page_know_the_new_kind(camera, api_as, operator_user, client_as):
    feed_quality(camera, 0, 3)
    api = api_as(operator_user)
    listed = api.get("/api/alerts/", {"trigger": "count_unreliable"})
    assert listed.status_code == 200
    assert [a["trigger"] for a in listed.json()["results"]] == ["count_unreliable"]
    assert api.get("/api/alerts/", {"trigger": "density"}).json()["results"] == []
    stats = api.get("/api/alerts/statistics/").json()
    assert stats["by_trigger"]["count_unreliable"] == 1
    feed_quality(camera, 3, 6, "ok", density=4.5)  # and a density alert
    client = client_as(operator_user)
    page = client.get("/alerts/").content.decode()
    assert '<option value="count_unreliable">Count unreliable</option>' in page
    assert "density 4.50 p/m²" in page and "count unreliable (detector saturated" in page
    only = client.get("/alerts/", {"trigger": "count_unreliable"}).content.decode()
    assert "count unreliable (detector saturated" in only and "density 4.50 p/m²" not in only
    assert client.get("/alerts/", {"trigger": "nonsense"}).status_code == 400
