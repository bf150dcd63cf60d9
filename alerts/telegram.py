"""Telegram Bot API client: photos and texts with HTML captions, retries, a per-chat rate limit.

- The API base URL is ``settings.TELEGRAM_API_BASE`` (tests point it at a fake server).
- 429 waits ``retry_after`` (shared with every worker through the Redis rate limiter);
  5xx and connection errors back off exponentially; both are bounded by `max_attempts` and
  `max_wait_s`, so a dead API cannot hold a worker for long. Other 4xx are permanent: no retry.
- At most one message per second per chat, across processes (a Redis slot per chat).
- The token is part of every request URL; it is scrubbed from every text this module returns.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from core.models import RuntimeSettings
from core.redis import get_redis, redis_key
from core.runtime_settings import get_runtime_settings

logger = logging.getLogger("alerts")

PER_CHAT_INTERVAL_MS = 1000
CAPTION_LIMIT = 1024  # Telegram's limit for photo captions (characters after parsing)
TEXT_LIMIT = 4096
PERMANENT_HINTS = {
    400: "check the chat ID",
    401: "check the bot token",
    403: "the bot was blocked or is not a member of the chat",
    404: "check the bot token",
}


@dataclass(frozen=True)
class TelegramResult:
    ok: bool
    detail: str
    status: int | None = None


def escape(text: Any) -> str:
    """Escape user text for parse_mode HTML (only <, > and & are special there)."""
    return html.escape(str(text), quote=False)


# --- per-chat rate limit (Redis clock, shared by all workers) ----------------------------------

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - now + 1000)
return slot - now
"""
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free_at = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if free_at > nxt then redis.call('SET', KEYS[1], free_at, 'PX', tonumber(ARGV[1]) + 1000) end
return 0
"""


def _limiter_key(chat_id: str) -> str:
    return redis_key("alerts", "telegram", "chat", chat_id)


def wait_for_slot(chat_id: str) -> float:
    """Reserve the chat's next send slot and sleep until it; returns the seconds waited."""
    try:
        wait_ms = int(get_redis().eval(_RESERVE, 1, _limiter_key(chat_id), PER_CHAT_INTERVAL_MS))
    except Exception:  # noqa: BLE001 - without Redis we send unthrottled rather than not at all
        logger.info("Telegram rate limiter unavailable; sending without it", exc_info=True)
        return 0.0
    if wait_ms > 0:
        time.sleep(wait_ms / 1000)
    return max(wait_ms, 0) / 1000


def block_chat(chat_id: str, seconds: float) -> None:
    """Nobody sends to this chat for `seconds` (Telegram asked us to wait)."""
    try:
        get_redis().eval(_BLOCK, 1, _limiter_key(chat_id), int(seconds * 1000))
    except Exception:  # noqa: BLE001
        logger.info("Telegram rate limiter unavailable", exc_info=True)


# --- the client ---------------------------------------------------------------------------------


class BotClient:
    def __init__(
        self,
        token: str,
        *,
        api_base: str | None = None,
        max_attempts: int = 5,
        max_wait_s: float = 90.0,
        backoff_s: float = 1.0,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        self.token = token
        self.api_base = (api_base or settings.TELEGRAM_API_BASE).rstrip("/")
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self.timeout = timeout

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def send_photo(self, chat_id: str, photo: bytes, caption: str) -> TelegramResult:
        data = {"chat_id": chat_id, "caption": caption, "parse_mode": "HTML"}
        return self._call("sendPhoto", chat_id, data, {"photo": ("alert.jpg", photo, "image/jpeg")})

    def send_message(self, chat_id: str, text: str) -> TelegramResult:
        data = {"chat_id": chat_id, "text": text, "parse_mode": "HTML", "disable_web_page_preview": "true"}
        return self._call("sendMessage", chat_id, data)

    def _call(self, method: str, chat_id: str, data: dict, files: dict | None = None) -> TelegramResult:
        url = f"{self.api_base}/bot{self.token}/{method}"
        deadline = time.monotonic() + self.max_wait_s
        attempt = 0
        while True:
            attempt += 1
            wait_for_slot(chat_id)
            status: int | None = None
            retry_after: float | None = None
            try:
                response = requests.post(url, data=data, files=files, timeout=self.timeout)
            except requests.RequestException as exc:
                detail = f"connection failed ({type(exc).__name__}: {self.scrub(str(exc))[:300]})"
            else:
                status = response.status_code
                body = _json(response)
                if status == 200 and body.get("ok"):
                    return TelegramResult(True, "sent", status)
                description = self.scrub(str(body.get("description") or response.reason or "no description"))
                detail = f"{status} {description}"
                if status == 429:
                    retry_after = _retry_after(body, response)
                elif status < 500:  # permanent: bad token, unknown chat, bad caption...
                    hint = PERMANENT_HINTS.get(status)
                    return TelegramResult(False, f"{detail} ({hint})" if hint else detail, status)
            wait = retry_after if retry_after is not None else self.backoff_s * 2 ** (attempt - 1)
            if attempt >= self.max_attempts or time.monotonic() + wait > deadline:
                return TelegramResult(False, f"{detail}; gave up after {attempt} attempts", status)
            logger.info("Telegram %s to %s: %s; retrying in %.1f s", method, chat_id, detail, wait)
            if retry_after is not None:
                block_chat(chat_id, wait)  # the next wait_for_slot() sleeps it out
            else:
                time.sleep(wait)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(body: dict, response: requests.Response) -> float:
    value = (body.get("parameters") or {}).get("retry_after") or response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), 3600.0)
    except (TypeError, ValueError):
        return 1.0


# --- the admin's test message ------------------------------------------------------------------


def send_test_message() -> TelegramResult:
    """Send a test text to every configured chat and say what Telegram answered."""

    s = RuntimeSettings.objects.filter(pk=1).first() or get_runtime_settings()  # fresh, not cached
    if not s.telegram_bot_token:
        return TelegramResult(False, "No bot token is set.")
    chats = s.chat_id_list
    if not chats:
        return TelegramResult(False, "No chat ID is set.")
    client = BotClient(s.telegram_bot_token, max_attempts=3, max_wait_s=10.0)
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z")
    text = (
        "✅ <b>CrowdSafe test message</b>\n"
        f"Alerts from this installation reach this chat.\n🕒 {escape(stamp)}"
    )
    failures = []
    for chat in chats:
        result = client.send_message(chat, text)
        if not result.ok:
            failures.append(f"chat {chat}: {result.detail}")
    if failures:
        return TelegramResult(False, "Telegram refused: " + "; ".join(failures))
    return TelegramResult(True, f"Test message delivered to {len(chats)} chat(s): {', '.join(chats)}.")
