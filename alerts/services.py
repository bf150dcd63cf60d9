"""Every write to alerts: raised by the rules, worked by operators, notified by Telegram.

Each step leaves an `AlertEvent` (who, when, note). Live pushes and Telegram tasks go out
only after the transaction commits, so clients never see an alert the database does not.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role, has_role
from alerts import state
from alerts.live import CHANGED, NEW, push_alert
from alerts.models import Alert, AlertEvent, AlertStatus, NotificationState
from alerts.rules import COUNT_UNRELIABLE, Observation
from alerts.selectors import alert_statistics, unacknowledged_count
from alerts.text import describe
from core import audit
from core.runtime_settings import get_runtime_settings

__all__ = [
    "acknowledge_alert",
    "resolve_alert",
    "unacknowledged_count",
    "alert_statistics",
    "raise_alert",
    "escalate_alert",
    "reactivate_alert",
    "record_peak",
    "mark_all_clear",
    "record_notification",
    "attach_clip",
]

# Sent by name: alerts.tasks imports this module (one direction, no import cycle).
SEND_NOTIFICATION_TASK = "alerts.tasks.send_alert_notification"
logger = logging.getLogger("alerts")
Action = AlertEvent.Action
MAX_NOTE_LENGTH = 2000
JPEG_MAGIC = b"\xff\xd8"


# --- raised by the rules (alerts.hooks) -----------------------------------------------------


def _with_relations():
    return Alert.objects.select_related("camera", "zone", "acknowledged_by", "resolved_by")


def telegram_configured() -> bool:
    s = get_runtime_settings()
    return bool(s.telegram_enabled and s.telegram_bot_token and s.chat_id_list)


def _snapshot_name(prefix: str) -> str:
    return f"{prefix}_{timezone.now():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}.jpg"


def _valid_jpeg(jpeg: bytes | None) -> bool:
    return bool(jpeg) and jpeg[:2] == JPEG_MAGIC


def _after_commit(alert: Alert, event: str, notify: str | None = None) -> None:
    """Push live, and queue a Telegram message when it is switched on."""
    transaction.on_commit(lambda: push_alert(alert, event))
    if notify:
        transaction.on_commit(lambda: _queue_notification(alert.pk, notify))


def _queue_notification(alert_id: int, kind: str) -> None:
    try:
        current_app.send_task(SEND_NOTIFICATION_TASK, (alert_id, kind), queue="default")
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the alert
        logger.exception("Could not queue the Telegram message for alert %s", alert_id)
        Alert.objects.filter(pk=alert_id).update(
            notification_state=NotificationState.FAILED,
            notification_error=f"Could not queue the message: {type(exc).__name__}",
        )


@transaction.atomic
def raise_alert(
    camera, obs: Observation, *, frame: dict[str, Any], jpeg: bytes | None, zone=None
) -> Alert:
    """A new alert with the frame's figures and its annotated snapshot."""
    notify = telegram_configured()
    alert = Alert(
        camera=camera,
        zone=zone,
        level=obs.level,
        trigger=obs.trigger,
        message=describe(obs),
        metrics={**frame, "scope": obs.figures, "threshold": obs.threshold},
        peak_metrics={},
        video_time_s=obs.figures.get("timestamp"),
        notification_state=NotificationState.PENDING if notify else NotificationState.DISABLED,
    )
    if _valid_jpeg(jpeg):
        try:
            alert.snapshot.save(_snapshot_name(f"alert_{obs.trigger}"), ContentFile(jpeg), save=False)
        except OSError:  # a full or broken disk must not cost the alert itself
            logger.exception("Alert snapshot not saved for camera %s", camera.pk)
            alert.snapshot = ""
    alert.save()
    AlertEvent.objects.create(alert=alert, action=Action.RAISED, note=alert.message)
    _after_commit(alert, NEW, "raised" if notify else None)
    return alert


def _open_alert(alert_id: int | None) -> Alert | None:
    """The alert locked for update, or None when it is gone or resolved."""
    if alert_id is None:
        return None
    alert = (
        _with_relations()
        .select_for_update(of=("self",))
        .filter(pk=alert_id)
        .first()
    )
    return None if alert is None or alert.status == AlertStatus.RESOLVED else alert


@transaction.atomic
def escalate_alert(alert_id: int | None, obs: Observation, *, peak: dict, jpeg: bytes | None) -> Alert | None:
    """Raise the level of an alert in place (WARNING -> CRITICAL), at once.

    The original snapshot and metrics stay (they show what raised it); the escalation frame
    and figures are kept under ``metrics["escalation"]``. An acknowledged alert goes back to
    open: the situation is worse than what the operator acknowledged. None when the alert
    was resolved meanwhile (the caller raises a new one).
    """
    alert = _open_alert(alert_id)
    if alert is None:
        return None
    previous = alert.level
    escalation: dict[str, Any] = {"level": obs.level, "scope": obs.figures, "threshold": obs.threshold}
    if _valid_jpeg(jpeg):
        name = f"snapshots/{alert.camera_id}/{_snapshot_name(f'alert_{alert.pk}_escalated')}"
        try:
            escalation["snapshot"] = default_storage.save(name, ContentFile(jpeg))
        except OSError:  # the escalation matters more than its picture
            logger.exception("Escalation snapshot not saved for alert %s", alert.pk)
    alert.metrics = {**alert.metrics, "escalation": escalation}
    alert.level = obs.level
    alert.message = describe(obs)
    alert.peak_metrics = peak
    alert.all_clear_at = None
    fields = ["metrics", "level", "message", "peak_metrics", "all_clear_at", "updated_at"]
    if alert.status == AlertStatus.ACKNOWLEDGED:
        alert.status = AlertStatus.OPEN
        alert.acknowledged_by = None
        alert.acknowledged_at = None
        fields += ["status", "acknowledged_by", "acknowledged_at"]
    notify = telegram_configured()
    if notify:
        alert.notification_state = NotificationState.PENDING
        fields.append("notification_state")
    alert.save(update_fields=fields)
    AlertEvent.objects.create(
        alert=alert, action=Action.ESCALATED, note=f"{previous} → {obs.level}: {alert.message}"
    )
    _after_commit(alert, CHANGED, "escalated" if notify else None)
    return alert


@transaction.atomic
def reactivate_alert(alert_id: int | None, obs: Observation, *, peak: dict) -> Alert | None:
    """The condition came back after an all-clear, inside the cooldown: reopen that alert."""
    alert = _open_alert(alert_id)
    if alert is None:
        return None
    alert.all_clear_at = None
    alert.peak_metrics = peak
    alert.save(update_fields=["all_clear_at", "peak_metrics", "updated_at"])
    AlertEvent.objects.create(alert=alert, action=Action.UPDATED, note=f"Condition returned: {describe(obs)}")
    _after_commit(alert, CHANGED)
    return alert


def record_peak(alert_id: int | None, peak: dict, *, changed: bool = True) -> bool:
    """Store the peak figures of a persisting condition; False when the alert is resolved/gone."""
    if alert_id is None:
        return False
    live = Alert.objects.filter(pk=alert_id).exclude(status=AlertStatus.RESOLVED)
    if not changed:
        return live.exists()
    if not live.update(peak_metrics=peak, updated_at=timezone.now()):
        return False
    alert = _with_relations().get(pk=alert_id)
    push_alert(alert, CHANGED)
    return True


@transaction.atomic
def mark_all_clear(
    alert_id: int | None, *, peak: dict, safe_for_s: float, trigger: str = ""
) -> Alert | None:
    """Back at SAFE (for a count alert: the count usable again) for the configured time: note
    it (an operator still has to resolve it)."""
    alert = _open_alert(alert_id)
    if alert is None:
        return None
    alert.all_clear_at = timezone.now()
    alert.peak_metrics = peak
    alert.save(update_fields=["all_clear_at", "peak_metrics", "updated_at"])
    what = "Count reliable again" if (trigger or alert.trigger) == COUNT_UNRELIABLE else "Back at SAFE"
    AlertEvent.objects.create(alert=alert, action=Action.ALL_CLEAR, note=f"{what} for {safe_for_s:.0f} s.")
    _after_commit(alert, CHANGED, "all_clear" if telegram_configured() else None)
    return alert


def attach_clip(alert_ids: tuple[int, ...], name: str, *, start_s: float, duration_s: float) -> int:
    """Give the alerts their event clip (a file under MEDIA_ROOT, `start_s` on the source
    clock, `duration_s` of video); returns how many alerts still existed to take it."""
    updated = Alert.objects.filter(pk__in=alert_ids).update(
        clip=name,
        clip_start_s=round(start_s, 3),
        clip_duration_s=round(duration_s, 3),
        updated_at=timezone.now(),
    )
    for alert in _with_relations().filter(pk__in=alert_ids):
        push_alert(alert, CHANGED)  # pages show the clip without a reload
    return updated


# --- the operators' workflow ------------------------------------------------------------------


def _require_operator(user, verb: str) -> None:
    if not has_role(user, Role.OPERATOR):
        raise PermissionDenied(f"Only operators and admins may {verb} alerts.")


def _clean_note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise ValidationError({"note": "The note must be text."})
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationError({"note": f"The note is too long (at most {MAX_NOTE_LENGTH} characters)."})
    return note


def _locked(alert: Alert) -> Alert:
    return (
        _with_relations()
        .select_for_update(of=("self",))
        .get(pk=alert.pk)
    )


def _refresh(alert: Alert) -> Alert:
    alert.refresh_from_db()
    return alert


@transaction.atomic
def acknowledge_alert(alert: Alert, *, user, note: str = "") -> Alert:
    """Open -> acknowledged. PermissionDenied for viewers; ValidationError otherwise."""
    _require_operator(user, "acknowledge")
    note = _clean_note(note)
    locked = _locked(alert)
    if locked.status != AlertStatus.OPEN:
        current = locked.get_status_display().lower()
        raise ValidationError({"status": f"Only an open alert can be acknowledged; this one is {current}."})
    locked.status = AlertStatus.ACKNOWLEDGED
    locked.acknowledged_by = user
    locked.acknowledged_at = timezone.now()
    locked.acknowledge_note = note
    locked.save(
        update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledge_note", "updated_at"]
    )
    AlertEvent.objects.create(alert=locked, action=Action.ACKNOWLEDGED, user=user, note=note)
    audit.record(audit.Action.ALERT_ACKNOWLEDGE, actor=user, obj=locked, camera_id=locked.camera_id)
    _after_commit(locked, CHANGED)
    return _refresh(alert)


@transaction.atomic
def resolve_alert(alert: Alert, *, user, note: str = "") -> Alert:
    """Open or acknowledged -> resolved (an open one is acknowledged on the way, both logged)."""
    _require_operator(user, "resolve")
    note = _clean_note(note)
    locked = _locked(alert)
    if locked.status == AlertStatus.RESOLVED:
        raise ValidationError({"status": "This alert is already resolved."})
    now = timezone.now()
    fields = ["status", "resolved_by", "resolved_at", "resolve_note", "updated_at"]
    if locked.status == AlertStatus.OPEN:
        locked.acknowledged_by, locked.acknowledged_at = user, now
        fields += ["acknowledged_by", "acknowledged_at"]
        AlertEvent.objects.create(
            alert=locked, action=Action.ACKNOWLEDGED, user=user, note="Acknowledged when resolved."
        )
    locked.status = AlertStatus.RESOLVED
    locked.resolved_by, locked.resolved_at, locked.resolve_note = user, now, note
    locked.save(update_fields=fields)
    AlertEvent.objects.create(alert=locked, action=Action.RESOLVED, user=user, note=note)
    audit.record(audit.Action.ALERT_RESOLVE, actor=user, obj=locked, camera_id=locked.camera_id)
    camera_id, alert_id = locked.camera_id, locked.pk
    # The runner stops tracking it; the condition can raise a new alert after the cooldown.
    transaction.on_commit(lambda: _signal_resolved(camera_id, alert_id))
    _after_commit(locked, CHANGED)
    return _refresh(alert)


def _signal_resolved(camera_id: int, alert_id: int) -> None:
    try:
        state.signal_resolved(camera_id, alert_id)
    except Exception:  # noqa: BLE001 - the runner also notices within a few seconds by itself
        logger.warning("Could not signal the resolution of alert %s to its camera", alert_id, exc_info=True)


# --- notifications ------------------------------------------------------------------------------


def record_notification(alert_id: int, kind: str, *, ok: bool, detail: str, disabled: bool = False) -> None:
    """Keep the outcome of a Telegram send on the alert and in its trail (failures also logged)."""
    alert = _with_relations().filter(pk=alert_id).first()
    if alert is None:
        return
    if disabled:
        alert.notification_state, alert.notification_error = NotificationState.DISABLED, ""
        alert.save(update_fields=["notification_state", "notification_error", "updated_at"])
        return
    if ok:
        alert.notification_state, alert.notification_error = NotificationState.SENT, ""
        alert.notified_at = timezone.now()
    else:
        alert.notification_state, alert.notification_error = NotificationState.FAILED, detail[:2000]
        logger.warning(
            "Telegram %s message for alert %s failed: %s",
            kind,
            alert_id,
            detail,
            extra={"details": {"alert_id": alert_id, "kind": kind}},
        )
    alert.save(update_fields=["notification_state", "notification_error", "notified_at", "updated_at"])
    AlertEvent.objects.create(
        alert=alert, action=Action.NOTIFIED if ok else Action.NOTIFY_FAILED, note=f"{kind}: {detail}"[:2000]
    )
    push_alert(alert, CHANGED)
