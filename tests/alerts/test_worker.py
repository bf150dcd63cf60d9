"""End to end: frames -> alert -> `default` queue -> a real Celery worker -> the fake Bot API."""

from __future__ import annotations

import time

from alerts.hooks import on_frame
from alerts.models import Alert
from crowdsafe.runtime_settings import update_runtime_settings
from tests.alerts.conftest import CHATS, TOKEN
from tests.alerts.frames import feed, jpeg


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_alert_photo_reaches_every_chat_through_the_worker(celery_worker, telegram, camera):
    update_runtime_settings(
        {"telegram_enabled": True, "telegram_bot_token": TOKEN, "telegram_chat_ids": ", ".join(CHATS)}
    )
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    alert = Alert.objects.get()
    assert alert.notification_state == "pending"

    wait_for(lambda: Alert.objects.get(pk=alert.pk).notification_state == "sent")
    photos = telegram.wait_for(2)
    assert [r.method for r in photos] == ["sendPhoto", "sendPhoto"]
    assert [r.fields["chat_id"] for r in photos] == CHATS
    assert all(r.token == TOKEN and r.files["photo"] == jpeg("4.5") for r in photos)
    assert "CrowdSafe alert: WARNING" in photos[0].rendered
    assert "Camera: Main Gate - North stand" in photos[0].rendered

    feed(on_frame, camera, 3, 4, density=6.5, risk_level="CAUTION")  # escalation: a second message
    escalated = telegram.wait_for(4)[2:]
    assert all(
        "CrowdSafe escalated: CRITICAL" in r.rendered and "Density: 6.50 p/m²" in r.rendered
        for r in escalated
    )
    assert escalated[0].files["photo"] == jpeg("6.5")  # the escalation frame
    alert.refresh_from_db()
    wait_for(lambda: Alert.objects.get(pk=alert.pk).events.filter(action="notified").count() == 2)
