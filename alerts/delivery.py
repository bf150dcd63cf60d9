"""Are alerts reaching Telegram, and if not, why: one answer for the Settings page and health.

Reasons, in the order they are checked: alerts switched off, no bot token, no chat ID,
Telegram switched off, the last send failed (and nothing succeeded or changed in the settings
since). Only admins see Telegram's error text as it came; everyone else gets it with the chat
IDs and the token taken out.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings

from alerts.models import AlertEvent
from core.runtime_settings import get_runtime_settings

_CHAT_MENTION = re.compile(r"chat\s+(-?\d+|@\w+)")


@dataclass(frozen=True)
class DeliveryStatus:
    sending: bool
    reason: str  # ok | alerts_disabled | no_token | no_chat_ids | telegram_disabled | last_send_failed
    detail: str
    last_sent_at: datetime | None = None
    last_failed_at: datetime | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        for name in ("last_sent_at", "last_failed_at"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


def _last_outcomes() -> tuple[AlertEvent | None, AlertEvent | None]:
    """The newest successful and the newest failed Telegram send (by id: the primary key index)."""
    events = AlertEvent.objects.order_by("-id")
    sent = events.filter(action=AlertEvent.Action.NOTIFIED).only("at").first()
    failed = events.filter(action=AlertEvent.Action.NOTIFY_FAILED).only("at", "note").first()
    return sent, failed


def _scrub(text: str, s) -> str:
    """Telegram's error text without chat IDs or the token (for non-admins)."""
    text = _CHAT_MENTION.sub("chat …", text)
    for secret in [s.telegram_bot_token, *s.chat_id_list]:
        if secret:
            text = text.replace(secret, "…")
    return text


def _env_hint(s) -> str:
    """When the deployment set Telegram in its environment but the stored settings differ."""
    if settings.TELEGRAM_BOT_TOKEN and settings.TELEGRAM_CHAT_IDS:
        return (
            " TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_IDS in the environment set only the first values;"
            " the stored settings say off: switch Telegram on here."
        )
    return ""


def telegram_delivery(*, for_admin: bool) -> DeliveryStatus:
    s = get_runtime_settings()
    if not s.alerts_enabled:
        detail = "Alerts are switched off in Settings: none are raised, so none are sent to Telegram."
        return DeliveryStatus(False, "alerts_disabled", detail)
    if not s.telegram_bot_token:
        detail = "No Telegram bot token is set (Settings or TELEGRAM_BOT_TOKEN): alerts are not sent."
        return DeliveryStatus(False, "no_token", detail)
    if not s.chat_id_list:
        detail = "No Telegram chat ID is set (Settings or TELEGRAM_CHAT_IDS): alerts are not sent."
        return DeliveryStatus(False, "no_chat_ids", detail)
    if not s.telegram_enabled:
        detail = "Telegram is switched off in Settings: alerts are raised and shown here, but not sent."
        return DeliveryStatus(False, "telegram_disabled", detail + (_env_hint(s) if for_admin else ""))
    sent, failed = _last_outcomes()
    sent_at, failed_at = (sent.at if sent else None), (failed.at if failed else None)
    chats = len(s.chat_id_list)
    detail = f"Alerts are sent to {chats} Telegram chat{'s' if chats != 1 else ''}."
    if failed and (sent_at is None or failed_at > sent_at):
        if failed_at < s.updated_at:
            detail += " The last send failed, but the settings changed since; the next alert will tell."
            return DeliveryStatus(True, "ok", detail, sent_at, failed_at)
        error = failed.note.split(": ", 1)[-1]  # the note is "<kind>: <what Telegram said>"
        error = error if for_admin else _scrub(error, s)
        detail = f"The last Telegram send failed: {error}"
        return DeliveryStatus(False, "last_send_failed", detail, sent_at, failed_at)
    return DeliveryStatus(True, "ok", detail, sent_at, failed_at)
