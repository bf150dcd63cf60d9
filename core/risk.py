"""Risk levels as every page shows them, and the worst risk of a camera's live figures.

The engine's live payload has the camera's own `risk_level` / `risk_score` and, per zone, the
same two; a headline or a risk card shows the worst of them (a zone can be CRITICAL while the
whole view is SAFE). Pure; shared by the camera page, the dashboard and the runtime's push.
"""

from __future__ import annotations

from typing import Any

LEVELS = ("SAFE", "CAUTION", "WARNING", "CRITICAL")


def level_rank(level: Any) -> int:
    """0..3 for a known level, -1 otherwise (no data)."""
    return LEVELS.index(level) if level in LEVELS else -1


def _score(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def worst_risk(figures: dict | None) -> dict | None:
    """{"level", "score", "zone"} of the worse of the camera and its zones (by level, then score).

    `zone` is the zone's name, or None when the camera's own figure is the worst (a tie keeps
    the camera's). None when the figures hold no risk level.
    """
    if not isinstance(figures, dict):
        return None
    best: dict | None = None
    if level_rank(figures.get("risk_level")) >= 0:
        best = {"level": figures["risk_level"], "score": _score(figures.get("risk_score")), "zone": None}
    for zone in figures.get("zones") or []:
        if not isinstance(zone, dict) or level_rank(zone.get("risk_level")) < 0:
            continue
        candidate = {"level": zone["risk_level"], "score": _score(zone.get("risk_score")),
                     "zone": str(zone.get("name") or zone.get("id") or "?")}
        if best is None or (level_rank(candidate["level"]), candidate["score"]) > (
            level_rank(best["level"]), best["score"]
        ):
            best = candidate
    return best


def highest_level(levels) -> str:
    """The worst of some levels ("" when none is known)."""
    known = [level for level in levels if level_rank(level) >= 0]
    return max(known, key=level_rank) if known else ""
