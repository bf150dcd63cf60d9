"""Telegram against a fake Bot API on 127.0.0.1: retries, rate limit, escaping, secrecy."""

from __future__ import annotations

import time

import pytest

from alerts.hooks import on_frame
from alerts.models import Alert
from alerts.notifications import build_caption
from alerts.tasks import send_alert_notification
from alerts.telegram import BotClient, send_test_message
from core.models import SystemLog
from core.runtime_settings import update_runtime_settings
from tests.alerts.conftest import CHATS, TOKEN
from tests.alerts.fake_telegram import render_html
from tests.alerts.frames import feed, jpeg
from tests.support import free_port

TRICKY_NAME = "Gate_1 *North* <B> & [x](y) `x` </b>"


@pytest.fixture
def alert(camera) -> Alert:
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    return Alert.objects.get()


def test_429_is_retried_after_retry_after(telegram_on, alert):
    telegram_on.answer_429(retry_after=2)
    assert send_alert_notification(alert.pk, "raised") == "sent to 2 chat(s)"
    first, retry, second_chat = telegram_on.requests
    assert first.method == retry.method == "sendPhoto" and first.fields["chat_id"] == retry.fields["chat_id"]
    assert retry.at - first.at >= 2.0  # honoured retry_after
    assert second_chat.fields["chat_id"] == CHATS[1]
    alert.refresh_from_db()
    assert alert.notification_state == "sent" and alert.notification_error == "" and alert.notified_at
    assert retry.files["photo"] == alert.snapshot.read() == jpeg("4.5")
    assert list(alert.events.values_list("action", flat=True)) == ["raised", "notified"]


def test_caption_with_markdown_and_html_characters_is_delivered_intact(telegram_on, camera):
    from cameras.models import Zone

    camera.name, camera.location = TRICKY_NAME, "Stand <A> & B_2"
    camera.save()
    gate = Zone.objects.create(camera=camera, name="Zone_*1* <i>", polygon=[[0, 0], [1, 0], [1, 1]])
    from tests.alerts.frames import make_frame, timeline, zone

    for ts in timeline(0, 3):
        zones = [zone(gate.pk, gate.name, 4.5, risk_level="CAUTION")]
        on_frame(camera, make_frame(ts, 1.0, zones=zones), jpeg())
    alert = Alert.objects.get()
    assert send_alert_notification(alert.pk) == "sent to 2 chat(s)"
    for request in telegram_on.requests:
        assert request.fields["parse_mode"] == "HTML"
        text = request.rendered  # as the recipient reads it (the fake refuses bad HTML with a 400)
        assert f"Camera: {TRICKY_NAME} - Stand <A> & B_2" in text
        assert "Zone: Zone_*1* <i>" in text and "in zone Zone_*1* <i>" in text
        assert "CrowdSafe alert: WARNING" in text and "Trigger: Density over threshold" in text
        for line in (
            "People: 112",
            "Density: 4.50 p/m²",
            "Speed: 0.50 m/s",
            "Risk: 30%",
            "Pressure: 0.37",
            "Coherence: 0.42",
        ):
            assert line in text
        assert len(text) <= 1024
    alert.refresh_from_db()
    assert alert.notification_state == "sent"


def test_long_messages_are_shortened_to_the_caption_limit(alert):
    alert.message = "& < > " * 400
    caption = build_caption(alert)
    assert len(render_html(caption)) <= 1024 and render_html(caption).count("…") == 1


def test_permanent_error_is_recorded_without_retry(telegram_on, alert):
    telegram_on.answer_error(400, "Bad Request: chat not found")
    send_alert_notification(alert.pk)
    assert [r.fields["chat_id"] for r in telegram_on.requests] == CHATS  # one try each, no storm
    alert.refresh_from_db()
    assert alert.notification_state == "failed"
    assert alert.notification_error == "chat 42: 400 Bad Request: chat not found (check the chat ID)"
    assert list(alert.events.values_list("action", flat=True)) == ["raised", "notify_failed"]
    log = SystemLog.objects.get(component="alerts", level="WARNING")
    assert f"alert {alert.pk}" in log.message and "chat not found" in log.message
    assert TOKEN not in log.message and TOKEN not in str(log.details)


def test_server_errors_back_off_and_give_up_within_bounds(telegram):
    for _ in range(2):
        telegram.answer_error(502, "Bad Gateway")
    client = BotClient(TOKEN, api_base=telegram.url, backoff_s=0.2)
    assert client.send_message("7", "hello").ok
    gaps = [b.at - a.at for a, b in zip(telegram.requests, telegram.requests[1:], strict=False)]
    assert len(telegram.requests) == 3 and gaps[0] >= 0.2 and gaps[1] >= 0.4  # exponential
    for _ in range(3):
        telegram.answer_error(503, "Service Unavailable")
    result = BotClient(TOKEN, api_base=telegram.url, backoff_s=0.05, max_attempts=3).send_message("8", "x")
    assert not result.ok and result.detail == "503 Service Unavailable; gave up after 3 attempts"
    assert len(telegram.requests) == 6


def test_a_retry_after_beyond_the_bound_fails_at_once(telegram):
    telegram.answer_429(retry_after=120)
    started = time.monotonic()
    result = BotClient(TOKEN, api_base=telegram.url, max_wait_s=10).send_message("9", "x")
    assert not result.ok and "429" in result.detail and time.monotonic() - started < 2
    assert len(telegram.requests) == 1


def test_at_most_one_message_per_second_per_chat(telegram):
    client = BotClient(TOKEN, api_base=telegram.url)
    for _ in range(3):
        assert client.send_message("77", "x").ok
    assert client.send_message("78", "y").ok
    at = [r.at for r in telegram.requests]
    assert at[1] - at[0] >= 0.95 and at[2] - at[1] >= 0.95
    assert at[3] - at[2] < 0.5  # another chat has its own slot


def test_the_token_never_appears_in_what_we_report(telegram):
    closed_port = free_port()
    result = BotClient(
        TOKEN, api_base=f"http://127.0.0.1:{closed_port}", max_attempts=2, backoff_s=0.05
    ).send_message("1", "x")
    assert not result.ok and "connection failed" in result.detail and TOKEN not in result.detail
    assert "***" in result.detail  # the URL was there, scrubbed


def test_send_test_message_reports_telegrams_answer(telegram_on):
    result = send_test_message()
    assert result.ok and result.detail == "Test message delivered to 2 chat(s): 42, -100123."
    assert [r.method for r in telegram_on.requests] == ["sendMessage", "sendMessage"]
    assert "CrowdSafe test message" in telegram_on.requests[0].rendered
    assert telegram_on.requests[0].token == TOKEN

    telegram_on.valid_tokens = {"999:other"}
    result = send_test_message()
    assert not result.ok and "401 Unauthorized (check the bot token)" in result.detail
    assert TOKEN not in result.detail


def test_send_test_message_without_configuration(db, telegram):
    assert send_test_message().detail == "No bot token is set."
    update_runtime_settings({"telegram_bot_token": TOKEN})
    assert send_test_message().detail == "No chat ID is set."
    assert telegram.requests == []


def test_notifications_off_means_no_message(telegram, alert):
    assert alert.notification_state == "disabled"
    assert send_alert_notification(alert.pk) == "disabled"
    assert telegram.requests == []


def test_all_clear_is_a_text_with_the_peak_figures(telegram_on, camera):
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    feed(on_frame, camera, 3, 34, density=1.0)
    alert = Alert.objects.get()
    assert alert.all_clear_at is not None
    assert send_alert_notification(alert.pk, "all_clear") == "sent to 2 chat(s)"
    request = telegram_on.requests[0]
    assert request.method == "sendMessage" and request.files == {}
    assert "CrowdSafe all clear: Main Gate" in request.rendered
    assert "Back at SAFE; the alert still needs resolving." in request.rendered
    assert "Peak Density: 4.50 p/m²" in request.rendered
