"""The dashboard's video wall: how many tiles a row holds and which rendering each tile gets.

A tile at four or more per row is too small for the HUD's text: it gets the light rendering
(boxes and the risk badge, `?overlay=light`); the browser also switches a tile below
`LIGHT_BELOW_PX` wide to it and back to the full stream in full screen (static/js/crowdsafe.js).
"""

from __future__ import annotations

import math
from typing import Any

from accounts.models import WallLayout
from alerts.selectors import open_alerts_by_camera

LIGHT_FROM_COLUMNS = 4
LIGHT_BELOW_PX = 480
MAX_AUTO_COLUMNS = 4


def wall_columns(layout: str, tiles: int) -> int:
    """Tiles per row: the layout's, or for auto the smallest square grid holding every tile."""
    if layout != WallLayout.AUTO:
        return int(layout)
    return min(max(1, math.ceil(math.sqrt(tiles))), MAX_AUTO_COLUMNS)


def wall_context(user, tiles: list[dict[str, Any]]) -> dict[str, Any]:
    """What the grid template needs besides the tiles: layout, columns, overlay, open alerts."""
    layout = getattr(user, "wall_layout", WallLayout.AUTO) or WallLayout.AUTO
    columns = wall_columns(layout, len(tiles))
    alerts = open_alerts_by_camera(t["camera"].pk for t in tiles)
    for tile in tiles:
        tile["open_alerts"] = alerts.get(tile["camera"].pk, [])
    return {
        "wall_layout": layout,
        "wall_layouts": WallLayout.choices,
        "wall_columns": columns,
        "wall_overlay": "light" if columns >= LIGHT_FROM_COLUMNS else "full",
        "wall_light_below_px": LIGHT_BELOW_PX,
    }
