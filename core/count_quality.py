"""Count quality as operators read it: levels, reasons and their wording, from engine output.

The engine (``FrameResult.count_quality``) says per frame how far its count can be trusted;
everything here works on that or on its ``to_dict()`` form, and tolerates its absence (rows
and payloads written before the signal existed read as ``ok``).
Shared by every layer (camera API, metrics, alerts, reports), so it lives in core; no Django.
"""

from __future__ import annotations

import math
from typing import Any

OK, DEGRADED, UNRELIABLE = "ok", "degraded", "unreliable"
LEVELS = (OK, DEGRADED, UNRELIABLE)
_RANK = {level: i for i, level in enumerate(LEVELS)}

# What each reason means, in the operator's words (README lists the same).
REASONS: dict[str, str] = {
    "saturated": "detector saturated",
    "small_boxes": "many people too small to detect",
    "overlap": "heavy overlap between people",
    "faint": "many people seen too faintly to confirm",
    "blur": "blurred view",
    "dark": "view too dark",
    "obstructed": "view obstructed",
    "camera_moved": "camera moved",
}


def level_rank(level: str | None) -> int:
    return _RANK.get(level or OK, 0)


def worst(a: str | None, b: str | None) -> str:
    a, b = clean_level(a), clean_level(b)
    return a if _RANK[a] >= _RANK[b] else b


def clean_level(level: Any) -> str:
    return level if level in _RANK else OK


def clean_reasons(reasons: Any) -> list[str]:
    """Known reason codes, in the order REASONS lists them (unknown codes kept after, sorted)."""
    if not isinstance(reasons, list | tuple | set):
        return []
    given = {str(r) for r in reasons if isinstance(r, str) and r}
    known = [r for r in REASONS if r in given]
    return known + sorted(given - set(REASONS))


def clean_factor(value: Any) -> float | None:
    try:
        factor = float(value)
    except (TypeError, ValueError):
        return None
    return factor if math.isfinite(factor) and factor >= 1.0 else None


def reason_text(reasons: list[str]) -> str:
    return ", ".join(REASONS.get(r, r.replace("_", " ")) for r in reasons)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def frame_quality(result: Any) -> dict[str, Any]:
    """The quality of one frame (a FrameResult or its dict) as a plain, validated dict."""
    quality = _get(result, "count_quality")
    tiling = _get(result, "tiling")
    return {
        "level": clean_level(_get(quality, "level")),
        "reasons": clean_reasons(_get(quality, "reasons")),
        "undercount_factor": clean_factor(_get(quality, "undercount_factor")),
        "estimated_count": _get(quality, "estimated_count"),
        "held": bool(_get(quality, "held", False)),
        "tiled": bool(_get(tiling, "active", False)),
    }


def estimate(count: float | int | None, factor: float | None) -> int | None:
    """About how many people there are when the count is `factor` times too low."""
    if count is None or factor is None:
        return None
    return round(float(count) * factor)


def describe(level: str, reasons: list[str], estimated: int | None = None) -> str:
    """One line for reports, alerts and badges: 'unreliable (detector saturated), ≈120 people'."""
    text = clean_level(level)
    if reasons:
        text += f" ({reason_text(reasons)})"
    if estimated is not None:
        text += f", ≈{estimated} people estimated"
    return text
