"""Celery tasks of the alerts: Telegram notifications (sent to the `default` queue)."""

from __future__ import annotations

from celery import shared_task

from alerts import clip_store
from alerts.models import Alert
from alerts.notifications import KINDS, send_alert
from alerts.services import SEND_NOTIFICATION_TASK, record_notification
from core.runtime_settings import get_runtime_settings


# acks_late: acknowledged only when done, so a message whose worker died mid-send goes back to
# the queue after the broker's visibility timeout (CROWDSAFE_BROKER_VISIBILITY_TIMEOUT) and the
# next worker sends it. A chat may then get it twice; better twice than never.
@shared_task(
    name=SEND_NOTIFICATION_TASK,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def send_alert_notification(alert_id: int, kind: str = "raised") -> str:
    """Send an alert (raised / escalated / all_clear) to every configured Telegram chat.

    Retries (429 retry_after, 5xx backoff) happen inside, bounded in time; the outcome is
    kept on the alert and, for failures, in the system log. Returns a short outcome text.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}")
    alert = Alert.objects.select_related("camera", "zone").filter(pk=alert_id).first()
    if alert is None:
        return "alert gone"
    s = get_runtime_settings()
    if not (s.telegram_enabled and s.telegram_bot_token and s.chat_id_list):
        record_notification(alert_id, kind, ok=False, detail="Telegram is switched off", disabled=True)
        return "disabled"
    result = send_alert(alert, kind, s.telegram_bot_token, s.chat_id_list)
    record_notification(alert_id, kind, ok=result.ok, detail=result.detail)
    return result.detail


@shared_task(name="alerts.tasks.purge_old_clips", ignore_result=True)
def purge_old_clips() -> int:
    """Event clips older than the recordings' retention (beat, hourly)."""
    return clip_store.purge_old_clips()
