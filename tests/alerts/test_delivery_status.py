"""Telegram from the environment is on at first start; Settings and health say when alerts are
not sent and why, without showing chat IDs or the token to anyone but admins."""

from __future__ import annotations

import pytest

from alerts.hooks import on_frame
from alerts.models import Alert
from alerts.tasks import send_alert_notification
from core.models import RuntimeSettings
from core.runtime_settings import invalidate_cache, update_runtime_settings
from tests.alerts.conftest import CHATS, TOKEN
from tests.alerts.frames import feed
from tests.support import wait_for


@pytest.fixture(autouse=True)
def _health_not_throttled(settings):
    """These tests call the health check often: start each below its per-address limit."""
    from core.redis import get_redis

    redis = get_redis()
    keys = list(redis.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*:throttle_health_*"))
    if keys:
        redis.delete(*keys)


def test_telegram_in_the_environment_is_on_at_first_start(start_worker, telegram, camera):
    """A worker whose environment names a bot and chats creates the settings row (none exists
    yet) and sends the first alert to those chats, as the README says."""
    assert not RuntimeSettings.objects.exists()
    alert = Alert.objects.create(camera=camera, level="WARNING", trigger="density", message="Dense here")
    worker = start_worker(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_IDS=",".join(CHATS))
    send_alert_notification.apply_async((alert.pk, "raised"), queue="default")

    sent_state = lambda: Alert.objects.get(pk=alert.pk).notification_state == "sent"  # noqa: E731
    wait_for(sent_state, 120, what="the alert sent", detail=worker.output)
    sent = telegram.wait_for(len(CHATS))
    assert [r.fields["chat_id"] for r in sent] == CHATS and all(r.token == TOKEN for r in sent)
    stored = RuntimeSettings.objects.get()
    assert stored.telegram_enabled and stored.telegram_bot_token == TOKEN
    assert stored.chat_id_list == CHATS


def test_without_telegram_in_the_environment_the_first_row_is_off(db, settings):
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_CHAT_IDS = TOKEN, []
    invalidate_cache()
    from core.runtime_settings import get_runtime_settings

    assert get_runtime_settings().telegram_enabled is False  # a token without a chat cannot send


def _health(client) -> dict:
    response = client.get("/api/system/health/")
    assert response.status_code in (200, 503), response.content
    return response.json()["notifications"]


@pytest.mark.parametrize(
    "changes, reason, words",
    [
        ({}, "no_token", "No Telegram bot token is set"),
        ({"telegram_bot_token": TOKEN}, "no_chat_ids", "No Telegram chat ID is set"),
        (
            {"telegram_bot_token": TOKEN, "telegram_chat_ids": "42"},
            "telegram_disabled",
            "Telegram is switched off in Settings",
        ),
        ({"alerts_enabled": False}, "alerts_disabled", "Alerts are switched off"),
    ],
)
def test_health_and_settings_say_why_nothing_is_sent(
    db, client, client_as, admin_user, changes, reason, words
):
    if changes:
        update_runtime_settings(changes)
    status = _health(client)
    assert status["sending"] is False and status["reason"] == reason and words in status["detail"]
    page = client_as(admin_user).get("/settings/")
    assert page.status_code == 200
    assert "Alerts are not being sent to Telegram." in page.content.decode()
    assert words in page.content.decode()


def test_a_failed_send_is_reported_with_the_error_and_secrets_only_for_admins(
    client, client_as, api_as, admin_user, viewer_user, telegram_on, camera
):
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    alert = Alert.objects.get()
    assert _health(client)["reason"] == "ok" and _health(client)["sending"] is True

    for _ in CHATS:
        telegram_on.answer_error(400, "Bad Request: chat not found")
    send_alert_notification(alert.pk, "raised")

    anonymous = _health(client)
    assert anonymous["sending"] is False and anonymous["reason"] == "last_send_failed"
    assert "Bad Request: chat not found" in anonymous["detail"] and anonymous["last_failed_at"]
    viewer = _health(client_as(viewer_user))
    for shown in (anonymous, viewer):
        assert not any(chat in shown["detail"] for chat in CHATS), shown
        assert TOKEN not in shown["detail"] and TOKEN.split(":")[0] not in shown["detail"]

    assert not any(chat in _health(api_as(viewer_user))["detail"] for chat in CHATS)
    admin = client_as(admin_user)
    for full in (_health(admin), _health(api_as(admin_user))):  # session, bearer token
        assert "chat 42: 400 Bad Request: chat not found (check the chat ID)" in full["detail"]
    page = admin.get("/settings/").content.decode()
    assert "Alerts are not being sent to Telegram." in page and "chat 42: 400 Bad Request" in page
    assert TOKEN not in page

    send_alert_notification(alert.pk, "raised")  # Telegram answers again
    again = _health(client)
    assert again["sending"] is True and again["reason"] == "ok" and again["last_sent_at"]
    assert "Alerts are sent to 2 Telegram chats." in admin.get("/settings/").content.decode()


def test_a_settings_change_after_a_failure_clears_the_alarm(client, telegram_on, camera):
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    telegram_on.answer_error(401, "Unauthorized")
    send_alert_notification(Alert.objects.get().pk, "raised")
    assert _health(client)["reason"] == "last_send_failed"
    update_runtime_settings({"telegram_bot_token": "777:new-token"})
    status = _health(client)
    assert status["sending"] is True and "the next alert will tell" in status["detail"]
