"""What an alert says on Telegram, and sending it to every configured chat.

Captions use parse_mode HTML; every piece of user text (camera, location, zone, message) is
escaped, so names such as ``Gate_1 *North* <B> & [x](y)`` arrive exactly as typed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from alerts.models import Alert
from alerts.telegram import CAPTION_LIMIT, TEXT_LIMIT, BotClient, TelegramResult, escape

KINDS = ("raised", "escalated", "all_clear")
_ICON = {"CRITICAL": "🔴", "WARNING": "🟠"}


def _figures(alert: Alert, kind: str) -> tuple[str, dict[str, Any]]:
    metrics = alert.metrics or {}
    if kind == "escalated" and isinstance(metrics.get("escalation"), dict):
        return "", metrics["escalation"].get("scope") or {}
    if kind == "all_clear":
        return "Peak ", alert.peak_metrics or {}
    return "", metrics.get("scope") or {}


def _num(fig: dict, name: str) -> float:
    value = fig.get(name)
    return float(value) if isinstance(value, int | float) else 0.0


def build_caption(alert: Alert, kind: str = "raised", limit: int = CAPTION_LIMIT) -> str:
    """The HTML caption; the message line is shortened if the whole would pass `limit`."""
    camera = alert.camera
    if kind == "all_clear":
        title = f"✅ <b>CrowdSafe all clear: {escape(alert.camera.name)}</b>"
    else:
        verb = "escalated" if kind == "escalated" else "alert"
        title = f"{_ICON.get(alert.level, '🟠')} <b>CrowdSafe {verb}: {escape(alert.level)}</b>"
    where = camera.name + (f" - {camera.location}" if camera.location else "")
    zone_name = alert.zone.name if alert.zone_id else (alert.metrics or {}).get("scope", {}).get("zone_name")
    prefix, fig = _figures(alert, kind)
    head = [title, f"<b>Camera:</b> {escape(where)}"]
    if zone_name:
        head.append(f"<b>Zone:</b> {escape(zone_name)}")
    head.append(f"<b>Trigger:</b> {escape(alert.get_trigger_display())}")
    figures = [
        f"{prefix}People: {int(_num(fig, 'count'))}",
        f"{prefix}Density: {_num(fig, 'density'):.2f} p/m²",
        (
            f"Peak speed: {_num(fig, 'max_speed'):.2f} m/s"
            if kind == "all_clear"
            else f"Speed: {_num(fig, 'avg_speed'):.2f} m/s"
        ),
        f"{prefix}Risk: {_num(fig, 'risk_score') * 100:.0f}%",
        f"{prefix}Pressure: {_num(fig, 'pressure'):.3f} s⁻²",
        f"{prefix}Coherence: {_num(fig, 'flow_coherence'):.2f}",
    ]
    when = alert.all_clear_at if kind == "all_clear" and alert.all_clear_at else alert.updated_at
    stamp = f"🕒 {escape(timezone.localtime(when).strftime('%Y-%m-%d %H:%M:%S %Z'))}"
    message = alert.message
    if kind == "all_clear":
        again = "The count is reliable again" if alert.trigger == "count_unreliable" else "Back at SAFE"
        message = f"{again}; the alert still needs resolving."
    rest = ["", *figures, "", stamp, *_link(alert)]
    room = limit - _plain_length([*head, "", "", *rest]) - 1
    if len(message) > room:
        message = message[: max(room - 1, 0)] + "…"
    return "\n".join([*head, "", escape(message), *rest])


def alert_link(alert: Alert) -> str | None:
    """The alert's review page as an absolute URL; None without CROWDSAFE_PUBLIC_URL (a link
    to the worker's own host name would lead nowhere)."""
    base = settings.CROWDSAFE_PUBLIC_URL
    return f"{base}{alert.get_absolute_url()}" if base else None


def _link(alert: Alert) -> list[str]:
    url = alert_link(alert)
    return [f'🔗 <a href="{html.escape(url)}">Snapshot, clip and history</a>'] if url else []


def _plain_length(lines: list[str]) -> int:
    """What Telegram counts: tags out, each entity one character."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", "\n".join(lines))))


def _photo(alert: Alert, kind: str) -> bytes | None:
    name = None
    if kind == "escalated":
        name = ((alert.metrics or {}).get("escalation") or {}).get("snapshot")
    if kind != "all_clear" and not name and alert.snapshot:
        name = alert.snapshot.name
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as f:
            return f.read()
    except OSError:
        return None


def send_alert(alert: Alert, kind: str, token: str, chats: list[str], **client_options) -> TelegramResult:
    """Send to every chat (photo when there is one); ok only when every chat got it."""
    client = BotClient(token, **client_options)
    photo = _photo(alert, kind)
    failures: list[str] = []
    for chat in chats:
        if photo:
            result = client.send_photo(chat, photo, build_caption(alert, kind))
        else:
            result = client.send_message(chat, build_caption(alert, kind, limit=TEXT_LIMIT))
        if not result.ok:
            failures.append(f"chat {chat}: {result.detail}")
    if failures:
        return TelegramResult(False, "; ".join(failures))
    return TelegramResult(True, f"sent to {len(chats)} chat(s)")
