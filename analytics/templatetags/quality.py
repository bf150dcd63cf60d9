"""Template filters for the count quality and the detection mode shown to operators."""

from __future__ import annotations

from typing import Any

from django import template

from core.count_quality import clean_reasons, reason_text

register = template.Library()


@register.filter
def quality_reasons(reasons: Any) -> str:
    """['saturated', 'blur'] -> 'detector saturated, blurred view'."""
    return reason_text(clean_reasons(reasons))


@register.filter
def tiling_label(tiling: Any) -> str:
    """The sliced-inference mode in force: 'auto (on, 3x2)', 'auto (off)', 'on (2x2)', 'off';
    ' + mirror' when the tiles also went through the detector mirrored."""
    if not isinstance(tiling, dict) or not tiling.get("mode"):
        return "—"
    mode = str(tiling["mode"])
    grid = tiling.get("grid") or []
    size = f"{grid[0]}x{grid[1]}" if len(grid) == 2 else ""
    if size and tiling.get("mirrored"):
        size += " + mirror"
    if mode == "off":
        return "off"
    if mode == "on":
        return f"on ({size})" if size else "on"
    if tiling.get("active"):
        return f"{mode} (on, {size})" if size else f"{mode} (on)"
    return f"{mode} (off)"
