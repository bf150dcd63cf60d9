"""Human-readable alert messages (plain text; escaping is the job of each channel)."""

from __future__ import annotations

import re
from typing import Any

from alerts.rules import COUNT_UNRELIABLE, DENSITY, RISK_LEVEL, SURGE, Observation
from core.count_quality import reason_text


def _scope(fig: dict[str, Any]) -> str:
    return f" in zone {fig['zone_name']}" if fig.get("zone_name") else ""


def describe(obs: Observation, level: str | None = None) -> str:
    """One sentence saying what crossed which threshold, with the key figures."""
    fig = obs.figures
    level = level or obs.level or ""
    people = f"{fig['count']} people"
    density = f"{fig['density']:.2f} p/m²"
    risk = f"risk {fig['risk_score'] * 100:.0f}%"
    where = _scope(fig)
    if obs.trigger == COUNT_UNRELIABLE:
        why = reason_text(fig.get("quality_reasons") or []) or "no reason given"
        estimate = fig.get("estimated_count")
        counted = f"{people} counted" + (f", ≈{estimate} estimated" if estimate is not None else "")
        held = "; figures held from the last good frame" if fig.get("count_held") else ""
        return (
            f"{level}: count unreliable{where} ({why}): {counted}{held}. "
            f"The risk level ({fig['risk_level']}) may understate the crowd."
        )
    if obs.trigger == RISK_LEVEL:
        return f"{level}: crowd risk {fig['risk_level']}{where} ({risk}, {people}, density {density})."
    if obs.trigger == DENSITY:
        limit = f" (threshold {obs.threshold:.2f} p/m²)" if obs.threshold else ""
        return f"{level}: density {density}{where}{limit}, {people}, {risk}."
    if obs.trigger == SURGE:
        return (
            f"{level}: sudden surge {fig['surge']:.2f}{where}, count changing "
            f"{fig['count_rate']:+.1f} people/s, {people}, {risk}."
        )
    return (
        f"{level}: crowd stagnating{where} at {density} moving {fig['avg_speed']:.2f} m/s, "
        f"{people}, {risk}."
    )


_CHAT_ID = re.compile(r"(chats?\s*:?\s*)(-?\d+|@\w+)", re.IGNORECASE)


def hide_chat_ids(text: str) -> str:
    """Telegram chat IDs are the admins' business: `chat 42: ...` becomes `chat ***: ...`."""
    return _CHAT_ID.sub(r"\1***", text or "")
