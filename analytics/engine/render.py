"""Annotated frames. Pure function of (frame, result, options): per-viewer options (e.g. the
heatmap) never change what another viewer sees or what is recorded."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .config import EngineConfig
from .results import FrameResult

# BGR palette (the original's).
LEVEL_COLORS = {
    "SAFE": (100, 200, 60),
    "CAUTION": (0, 210, 255),
    "WARNING": (0, 120, 255),
    "CRITICAL": (50, 50, 230),
}
QUALITY_COLORS = {"ok": (100, 200, 60), "degraded": (0, 210, 255), "unreliable": (60, 60, 255)}
STATE_COLORS = {
    "normal": (100, 200, 60),
    "moving": (0, 210, 255),
    "fast": (0, 120, 255),
    "anomaly": (200, 0, 160),
    "untracked": (160, 160, 160),
}
CLUSTER_COLOR = (255, 180, 50)
FLOW_COLOR = (200, 200, 50)
ZONE_COLOR = (255, 120, 200)
LINE_COLOR = (0, 255, 255)
EXCLUDED_COLOR = (128, 128, 128)  # areas whose detections are ignored
HUD_BG = (15, 15, 15)
HUD_TEXT = (245, 245, 245)
FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA
MAX_PROXIMITY_CIRCLES = 50


@dataclass(frozen=True)
class RenderOptions:
    """What to draw. One instance per viewer/recording; nothing here is shared state."""

    heatmap: bool = False
    boxes: bool = True
    labels: bool = True
    trails: bool = True
    flow: bool = True
    clusters: bool = True
    proximity: bool = True
    zones: bool = True
    lines: bool = True
    hud: bool = True
    sparklines: bool = True
    risk_badge: bool = False  # the risk badge alone, without the HUD (small wall tiles)


def _blend_rect(
    img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color: tuple, alpha: float
) -> None:
    """Darken/tint a rectangle in place, touching only that region."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    solid = np.empty_like(roi)
    solid[:] = color
    cv2.addWeighted(solid, alpha, roi, 1 - alpha, 0, dst=roi)


def draw_heatmap(img: np.ndarray, feet: np.ndarray, box_heights: np.ndarray) -> None:
    """Gaussian density heatmap (JET), computed at 1/8 resolution and blended where warm."""
    h, w = img.shape[:2]
    if len(feet) == 0:
        return
    f = 8
    gh, gw = (h + f - 1) // f, (w + f - 1) // f
    grid = np.zeros((gh, gw), np.float32)
    gx = np.clip((feet[:, 0] / f).astype(int), 0, gw - 1)
    gy = np.clip((feet[:, 1] / f).astype(int), 0, gh - 1)
    np.add.at(grid, (gy, gx), 1.0)
    # Spread about half a person height: the heat reflects people, not pixels.
    sigma = max(1.5, float(np.median(box_heights)) / f / 3) if len(box_heights) else 3.0
    grid = cv2.GaussianBlur(grid, (0, 0), sigma)
    single_peak = 1.0 / (2 * np.pi * sigma * sigma)
    grid /= max(float(grid.max()), 3 * single_peak)  # one lone person stays cool
    heat8 = np.clip(grid * 255, 0, 255).astype(np.uint8)
    color = cv2.applyColorMap(
        cv2.resize(heat8, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLORMAP_JET
    )
    mask = cv2.resize(heat8, (w, h), interpolation=cv2.INTER_LINEAR) > 40
    blended = cv2.addWeighted(img, 0.55, color, 0.45, 0)
    np.copyto(img, blended, where=mask[:, :, None])


def _corner_box(img: np.ndarray, x1: int, y1: int, x2: int, y2: int, color: tuple) -> None:
    ln = max(4, min(12, (x2 - x1) // 3, (y2 - y1) // 3))
    dim = tuple(int(c * 0.4) for c in color)
    cv2.rectangle(img, (x1, y1), (x2, y2), dim, 1)
    for (px, py), (dx, dy) in (
        ((x1, y1), (1, 1)),
        ((x2, y1), (-1, 1)),
        ((x1, y2), (1, -1)),
        ((x2, y2), (-1, -1)),
    ):
        cv2.line(img, (px, py), (px + dx * ln, py), color, 2)
        cv2.line(img, (px, py), (px, py + dy * ln), color, 2)


def _sparkline(
    img: np.ndarray,
    values: np.ndarray,
    x: int,
    y: int,
    w: int,
    h: int,
    color: tuple,
    label: str,
    top: float | None = None,
) -> None:
    cv2.rectangle(img, (x, y), (x + w, y + h), (80, 80, 80), 1)
    cv2.putText(img, label, (x + 3, y + 11), FONT, 0.33, color, 1, AA)
    if len(values) < 2:
        return
    vmax = top if top is not None else max(float(np.max(values)), 1e-6)
    vmax = max(vmax, float(np.max(values)), 1e-6)
    xs = x + 2 + np.linspace(0, w - 4, len(values))
    ys = y + h - 2 - (np.asarray(values, float) / vmax) * (h - 14)
    pts = np.stack([xs, ys], axis=1).astype(np.int32)
    cv2.polylines(img, [pts], False, color, 1, AA)


def render_frame(
    frame: np.ndarray,
    result: FrameResult,
    options: RenderOptions | None = None,
    config: EngineConfig | None = None,
) -> np.ndarray:
    """A new annotated image; ``frame`` is left untouched."""
    opts = options or RenderOptions()
    img = frame.copy()
    h, w = img.shape[:2]
    rd = result.render_data
    sx = w / max(result.frame_width, 1)
    sy = h / max(result.frame_height, 1)
    scale = np.array([sx, sy])

    if rd is not None:
        boxes = (
            (rd.boxes * np.array([sx, sy, sx, sy])).astype(np.int32) if len(rd.boxes) else rd.boxes
        )
        feet = rd.feet * scale
        if opts.heatmap and len(feet):
            draw_heatmap(img, feet, (rd.boxes[:, 3] - rd.boxes[:, 1]) * sy)

        if opts.zones and rd.exclusion_polygons_px:
            # Ignored areas, greyed, so an operator sees why nobody is counted there.
            polys = [(poly * scale).astype(np.int32) for poly in rd.exclusion_polygons_px]
            shade = img.copy()
            cv2.fillPoly(shade, polys, EXCLUDED_COLOR)
            cv2.addWeighted(shade, 0.35, img, 0.65, 0, dst=img)
            for pts in polys:
                cv2.polylines(img, [pts], True, EXCLUDED_COLOR, 1, AA)
                tx, ty = int(pts[:, 0].min()) + 4, int(pts[:, 1].min()) + 14
                cv2.putText(img, "excluded", (tx, ty), FONT, 0.4, EXCLUDED_COLOR, 1, AA)

        if opts.zones and rd.zone_polygons_px:
            for poly, zr in zip(rd.zone_polygons_px, result.zones, strict=False):
                pts = (poly * scale).astype(np.int32)
                color = LEVEL_COLORS.get(zr.risk_level, ZONE_COLOR)
                cv2.polylines(img, [pts], True, color, 2, AA)
                tx, ty = int(pts[:, 0].min()) + 4, int(pts[:, 1].min()) + 16
                cv2.putText(
                    img,
                    f"{zr.name}: {zr.count} ({zr.density:.1f}/m2 {zr.level_of_service})",
                    (tx, ty),
                    FONT,
                    0.45,
                    color,
                    1,
                    AA,
                )

        if opts.lines and rd.line_points_px:
            for i, ((p1, p2), lr) in enumerate(zip(rd.line_points_px, result.lines, strict=False)):
                a = (int(p1[0] * sx), int(p1[1] * sy))
                b = (int(p2[0] * sx), int(p2[1] * sy))
                cv2.line(img, a, b, LINE_COLOR, 2, AA)
                cv2.circle(img, a, 4, LINE_COLOR, -1)
                if i < len(rd.line_arrows_px):  # towards the line's "in" side
                    (mx, my), (tx, ty) = rd.line_arrows_px[i]
                    tip = (int(tx * sx), int(ty * sy))
                    cv2.arrowedLine(img, (int(mx * sx), int(my * sy)), tip, LINE_COLOR, 2, AA, tipLength=0.35)
                    cv2.putText(img, "in", (tip[0] + 4, tip[1] + 4), FONT, 0.45, LINE_COLOR, 1, AA)
                cv2.putText(
                    img,
                    f"{lr.name} in {lr.in_total} / out {lr.out_total}",
                    (min(a[0], b[0]) + 6, max(min(a[1], b[1]) - 6, 16)),
                    FONT,
                    0.45,
                    LINE_COLOR,
                    1,
                    AA,
                )

        if opts.clusters and result.clusters:
            hulls = [
                (np.asarray(c.hull, np.float64) * scale).astype(np.int32)
                for c in result.clusters
                if len(c.hull) >= 3
            ]
            if hulls:
                allpts = np.concatenate(hulls)
                x0, y0 = np.maximum(allpts.min(axis=0) - 2, 0)
                x1, y1 = np.minimum(allpts.max(axis=0) + 3, [w, h])
                if x1 > x0 and y1 > y0:
                    roi = img[y0:y1, x0:x1]
                    overlay = roi.copy()
                    shifted = [hh - np.array([x0, y0], np.int32) for hh in hulls]
                    cv2.fillPoly(overlay, shifted, CLUSTER_COLOR)
                    cv2.addWeighted(overlay, 0.25, roi, 0.75, 0, dst=roi)
                    cv2.polylines(roi, shifted, True, CLUSTER_COLOR, 2, AA)
            for c in result.clusters:
                cx, cy = int(c.centroid[0] * sx), int(c.centroid[1] * sy)
                cv2.putText(
                    img,
                    f"G{c.id + 1}:{c.size}",
                    (cx - 15, cy + 14),
                    FONT,
                    0.4,
                    CLUSTER_COLOR,
                    1,
                    AA,
                )

        if opts.proximity and len(rd.pair_index):
            order = np.argsort(rd.pair_distance_m)[:MAX_PROXIMITY_CIRCLES]
            for k in order.tolist():
                i, j = rd.pair_index[k]
                mid = (feet[i] + feet[j]) / 2
                r = max(3, int(np.hypot(*(feet[i] - feet[j])) / 2))
                near = config.proximity_m if config else 0.6
                inten = max(0.35, 1 - float(rd.pair_distance_m[k]) / max(near, 1e-6))
                cv2.circle(
                    img,
                    (int(mid[0]), int(mid[1])),
                    r,
                    (0, int(80 * inten), int(255 * inten)),
                    1,
                    AA,
                )

        if opts.trails:
            for tr in rd.trails:
                if len(tr) < 2:
                    continue
                pts = (tr * scale).astype(np.int32)
                # Three fading bands instead of one draw call per segment.
                k = len(pts)
                cuts = [0, k // 3, 2 * k // 3, k]
                for band in range(3):
                    seg = pts[max(cuts[band] - 1, 0) : cuts[band + 1]]
                    if len(seg) >= 2:
                        f = 0.35 + 0.3 * band
                        cv2.polylines(
                            img, [seg], False, (int(255 * f), int(200 * f), int(80 * f)), 1
                        )

        if opts.flow:
            for i in np.flatnonzero(np.nan_to_num(rd.speeds, nan=0.0) > 0.2).tolist():
                d = rd.directions[i]
                if abs(d[0]) + abs(d[1]) < 0.1:
                    continue
                length = float(np.clip(rd.speeds[i] * 15, 10, 30))
                p = feet[i]
                q = p + d * length
                cv2.arrowedLine(
                    img,
                    (int(p[0]), int(p[1])),
                    (int(q[0]), int(q[1])),
                    FLOW_COLOR,
                    1,
                    AA,
                    tipLength=0.3,
                )

        if opts.boxes:
            ids = rd.track_ids.tolist()
            speeds = rd.speeds.tolist()
            for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
                color = STATE_COLORS.get(rd.states[i], STATE_COLORS["normal"])
                _corner_box(img, x1, y1, x2, y2, color)
                if opts.labels and ids[i] >= 0:
                    sp = speeds[i]
                    text = f"#{ids[i]} {sp:.1f}m/s" if sp == sp else f"#{ids[i]}"
                    (tw, th), _ = cv2.getTextSize(text, FONT, 0.38, 1)
                    ty = max(y1 - 4, th + 3)
                    cv2.rectangle(img, (x1, ty - th - 3), (x1 + tw + 4, ty + 2), HUD_BG, -1)
                    cv2.putText(img, text, (x1 + 2, ty), FONT, 0.38, color, 1, AA)

    if opts.hud:
        _draw_hud(img, result, opts)
    elif opts.risk_badge:
        _draw_risk_badge(img, result)
    return img


def quality_line(r: FrameResult) -> str:
    """The HUD's count-quality line, e.g. "Count UNRELIABLE: faint, small_boxes"."""
    q = r.count_quality
    if q.level == "ok":
        return "Count: OK"
    text = f"Count {q.level.upper()}"
    if q.held:
        text += " (held)"
    if q.reasons:
        text += ": " + ", ".join(q.reasons)
    return text


def _draw_hud(img: np.ndarray, r: FrameResult, opts: RenderOptions) -> None:
    h, w = img.shape[:2]
    level_color = LEVEL_COLORS.get(r.risk_level, HUD_TEXT)
    q = r.count_quality
    people = f"People: {r.count}"
    if q.estimated_count is not None:
        people += f"  (~{q.estimated_count} est.)"
    lines = [
        (people, HUD_TEXT),
        (quality_line(r), QUALITY_COLORS.get(q.level, HUD_TEXT)),
        (f"Density: {r.density:.2f} p/m2  LoS {r.level_of_service}", HUD_TEXT),
        (f"Risk: {r.risk_level} {r.risk_score * 100:.0f}%", level_color),
        (f"Clusters: {r.num_clusters}  Anomalies: {len(r.anomalies)}", HUD_TEXT),
        (
            f"Trend: density {r.density_trend.label}, risk {r.risk_trend.label}",
            (80, 80, 255) if r.risk_trend.label == "rising" else HUD_TEXT,
        ),
        (f"Speed {r.avg_speed:.2f} m/s  Flow {r.flow_coherence:.2f}  P {r.pressure:.3f}/s2", HUD_TEXT),
    ]
    if r.tiling.mode != "off":
        grid = "x".join(str(v) for v in r.tiling.grid)
        state = f"on {grid}{' + mirror' if r.tiling.mirrored else ''}" if r.tiling.active else "off"
        lines.append((f"Tiling: {r.tiling.mode} ({state})", HUD_TEXT))
    if not r.calibrated:
        lines.append(("uncalibrated (area estimate)", (0, 210, 255)))
    panel_h = 14 + 20 * len(lines)
    spark = opts.sparklines and r.render_data is not None
    total_h = panel_h + (3 * 34 + 6 if spark else 0)
    panel_w = max([300] + [cv2.getTextSize(t, FONT, 0.45, 1)[0][0] + 16 for t, _ in lines])
    _blend_rect(img, 8, 8, 8 + panel_w, 8 + total_h, HUD_BG, 0.7)
    for i, (text, color) in enumerate(lines):
        cv2.putText(img, text, (16, 27 + 20 * i), FONT, 0.45, color, 1, AA)
    if spark and r.render_data is not None:
        rd = r.render_data
        y = 8 + panel_h
        _sparkline(img, rd.count_history, 14, y, 288, 30, (230, 230, 230), "count")
        _sparkline(img, rd.density_history, 14, y + 34, 288, 30, (100, 200, 60), "density", top=2.0)
        _sparkline(img, rd.risk_history, 14, y + 68, 288, 30, (50, 50, 230), "risk", top=1.0)
    _draw_risk_badge(img, r)


def _draw_risk_badge(img: np.ndarray, r: FrameResult) -> None:
    """The risk level and score, top right."""
    w = img.shape[1]
    level_color = LEVEL_COLORS.get(r.risk_level, HUD_TEXT)
    text = f"{r.risk_level} {r.risk_score * 100:.0f}%"
    (tw, th), _ = cv2.getTextSize(text, FONT, 0.7, 2)
    _blend_rect(img, w - tw - 24, 8, w - 6, 16 + th + 12, HUD_BG, 0.75)
    cv2.putText(img, text, (w - tw - 15, 16 + th + 2), FONT, 0.7, level_color, 2, AA)
