"""End to end: frames -> alert -> `default` queue -> a real Celery worker -> the fake Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from alerts.hooks import on_frame
from alerts.models import Alert
from core.runtime_settings import update_runtime_settings
from tests.alerts.conftest import CHATS, TOKEN
from tests.alerts.frames import feed, jpeg
from tests.support import wait_for


def test_alert_photo_reaches_every_chat_through_the_worker(celery_worker, telegram, camera):
    update_runtime_settings(
        {"telegram_enabled": True, "telegram_bot_token": TOKEN, "telegram_chat_ids": ", ".join(CHATS)}
    )
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    alert = Alert.objects.get()
    assert alert.notification_state in ("pending", "sent")  # queued; the worker may be done already

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



def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _telegram_on() -> None:
    update_runtime_settings(
        {"telegram_enabled": True, "telegram_bot_token": TOKEN, "telegram_chat_ids": ", ".join(CHATS)}
    )


def _raise_alert_and_wait_for_the_send(camera, telegram) -> Alert:
    telegram.hang_next()
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    telegram.wait_for(1)  # the worker is inside its send to the first chat
    return Alert.objects.get()


def _assert_sent_once_more(alert: Alert, telegram) -> None:
    wait_for(lambda: Alert.objects.get(pk=alert.pk).notification_state == "sent", 60)
    sent = telegram.wait_for(1 + len(CHATS))
    assert [r.fields["chat_id"] for r in sent] == [CHATS[0], *CHATS]  # the lost one, then both
    assert all("CrowdSafe alert: WARNING" in (r.rendered or "") for r in sent[1:])
    time.sleep(4)  # past another visibility timeout: it is not sent a third time
    assert len(telegram.requests) == 1 + len(CHATS)


def test_a_send_lost_with_its_pool_process_is_made_again_at_once(start_worker, telegram, camera):
    """The kernel kills the pool process mid-send (OOM): the task goes back to the queue."""
    _telegram_on()
    worker = start_worker(pool="prefork")
    alert = _raise_alert_and_wait_for_the_send(camera, telegram)
    (child,) = _children(worker.pid)
    os.kill(child, signal.SIGKILL)
    telegram.release.set()
    _assert_sent_once_more(alert, telegram)  # by the worker's next pool process


def test_a_send_lost_with_its_whole_worker_is_made_by_the_next_worker(start_worker, telegram, camera):
    """The worker's machine dies mid-send: after the visibility timeout another worker sends it."""
    _telegram_on()
    quick = {"CROWDSAFE_BROKER_VISIBILITY_TIMEOUT": "2"}
    first = start_worker(pool="prefork", **quick)
    alert = _raise_alert_and_wait_for_the_send(camera, telegram)
    os.killpg(first.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    telegram.release.set()
    assert Alert.objects.get(pk=alert.pk).notification_state == "pending"
    start_worker(pool="prefork", **quick)
    _assert_sent_once_more(alert, telegram)
