"""Sliced inference: small, distant people brought up to the detector's resolution.

A person detector misses people shorter than about 40 px at its input. A frame is cut into
evenly spaced, overlapping tiles sized so that the smallest expected person reaches that
height once the tile is scaled to the network input; the tiles and the whole frame go to the
detector as one batch, and the boxes are merged with SAHI's greedy non-maximum merging on
intersection-over-smaller: a person cut by a tile edge becomes one box, a large close person
found whole in the full frame stays whole. Boxes found by the same pass are never merged
with each other (that pass's NMS already separated them: they are different people).

``TilingPolicy`` decides per camera in ``auto`` mode, from what the camera sees: it runs a
probe (the same frame with and without tiles) at start, every ``recheck_s`` of source time,
and sooner when many boxes are small or the detector saturates; tiling stays on while it
finds clearly more people than the full frame alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sahi.postprocess.combine import greedy_nmm

from .quality import box_overlaps

TILING_MODES = ("off", "on", "auto")
MERGE_IOS = 0.5  # intersection over the smaller box above which two boxes are one person


@dataclass(frozen=True)
class TilePlan:
    """Tiles of one frame size (pixels of the frame, x0, y0, x1, y1)."""

    tiles: tuple[tuple[int, int, int, int], ...]
    grid: tuple[int, int]  # (columns, rows)
    tile_size: int


def plan_tiles(
    frame_size: tuple[int, int],
    imgsz: int,
    small_person_px: float | None,
    *,
    zoom: float = 1.0,
    min_person_px: float = 40.0,
    overlap: float = 0.2,
    max_tiles: int = 12,
) -> TilePlan | None:
    """Tiles that bring a person ``small_person_px`` tall (frame pixels) to ``min_person_px``
    at a network input of ``imgsz``; ``None`` when the full frame already does (or tiles
    could not do better). Unknown person size: tiles of half the network input (2× zoom of
    a frame that already fits it). ``zoom`` > 1 asks for tiles that much finer."""
    w, h = frame_size
    longest = max(w, h)
    full_scale = imgsz / longest  # the full frame is letterboxed to imgsz
    if small_person_px is None or small_person_px <= 0:
        tile = imgsz / 2 if longest <= imgsz else longest / 2
    else:
        if zoom <= 1.0 and small_person_px * full_scale >= min_person_px:
            return None
        tile = imgsz * small_person_px / min_person_px
    tile = max(tile / max(zoom, 1.0), imgsz / 4)  # beyond 4× the image has no more detail
    tile = int(round(tile))
    while True:
        if tile >= 0.85 * longest:
            return None  # one tile ≈ the frame: no gain
        tw, th = min(tile, w), min(tile, h)
        xs, ys = _starts(w, tw, overlap), _starts(h, th, overlap)
        if len(xs) * len(ys) <= max_tiles:
            break
        tile = int(math.ceil(tile * 1.15))
    boxes = tuple((x, y, x + tw, y + th) for y in ys for x in xs)
    return TilePlan(boxes, (len(xs), len(ys)), tile)


def _starts(length: int, tile: int, overlap: float) -> list[int]:
    """Evenly spaced tile origins along one axis, neighbours overlapping by ≥ ``overlap``."""
    if tile >= length:
        return [0]
    step = tile * (1.0 - overlap)
    n = int(math.ceil((length - tile) / step)) + 1
    return [round(k * (length - tile) / (n - 1)) for k in range(n)]


def merge_boxes(
    xyxy: np.ndarray, conf: np.ndarray, source: np.ndarray, ios: float = MERGE_IOS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy non-maximum merging (SAHI) of boxes from several passes over one frame.

    ``source`` says which pass (0 = full frame, k = tile k) found each box. A lower-scored box
    overlapping a kept one by more than ``ios`` (intersection over the smaller box) from
    another pass is merged into it (union box, the higher score), unless another pass found
    two or more people inside it: then it was a box around a group, and that pass's boxes
    are kept instead. Returns the merged boxes, scores and, per merged box, the index of the
    box it was kept from.
    """
    n = len(conf)
    if n == 0:
        return xyxy.reshape(0, 4), conf.reshape(0), np.zeros(0, np.int64)
    preds = np.concatenate(
        [xyxy.astype(np.float64), conf.astype(np.float64)[:, None], np.zeros((n, 1))], axis=1
    )
    groups = greedy_nmm(preds, match_metric="IOS", match_threshold=ios)
    out_box: list[np.ndarray] = []
    out_conf: list[float] = []
    out_idx: list[int] = []

    def emit(box: np.ndarray, j: int) -> None:
        out_box.append(box.astype(np.float64))
        out_conf.append(float(conf[j]))
        out_idx.append(int(j))

    for keep, merged in groups.items():
        members = [keep, *merged]
        per_source = np.bincount(source[members])
        busiest = int(np.argmax(per_source))
        group_box = per_source[busiest] >= 2 and busiest != source[keep]
        if group_box and _apart(xyxy, members, source, busiest, ios):
            # The kept box holds several people that another pass told apart (a coarse box
            # around a group): the pass that separated them is right, one box each.
            for j in members:
                if source[j] == busiest:
                    emit(xyxy[j], j)
            continue
        box = xyxy[keep].astype(np.float64).copy()
        for j in merged:
            if source[j] == source[keep]:
                # Same pass: its own NMS kept both, so they are two (overlapping) people.
                emit(xyxy[j], j)
                continue
            box[:2] = np.minimum(box[:2], xyxy[j, :2])
            box[2:] = np.maximum(box[2:], xyxy[j, 2:])
        emit(box, keep)
    order = np.argsort(out_idx)
    return (
        np.asarray(out_box, np.float32).reshape(-1, 4)[order],
        np.asarray(out_conf, np.float32)[order],
        np.asarray(out_idx, np.int64)[order],
    )


def _apart(xyxy: np.ndarray, members: list[int], source: np.ndarray, pass_id: int, ios: float) -> bool:
    """Whether the boxes of one pass in a merge group are different people: none lies
    mostly inside another (NMS keeps a torso box inside its person's box; that is one)."""
    boxes = xyxy[[j for j in members if source[j] == pass_id]]
    inter, area, _ = box_overlaps(boxes, boxes)
    over_smaller = inter / np.maximum(np.minimum(area[:, None], area[None, :]), 1e-9)
    np.fill_diagonal(over_smaller, 0.0)
    return bool(over_smaller.max() <= ios)


@dataclass
class TilingDecision:
    """What the policy wants for one frame."""

    tiles: bool  # run the tiles with the full frame
    probe: bool  # auto is testing something on this frame (the result feeds ``observe``)
    zoom: float = 1.0  # finer tiles than the size estimate asks for (auto's refinement)


class TilingPolicy:
    """Per camera: when to tile, and how finely.

    ``on`` tiles every frame, ``off`` never. ``auto`` decides from what the camera sees: it
    probes (one frame with tiles) on the camera's first frame, then only when the detector
    struggles on the full frame (many small boxes, faint candidates, saturation, heavy
    overlap), and not within ``recheck_s`` of a probe that did not pay, so a sparse, clear
    scene costs one tiled frame per start. Tiling turns on when a probe's merged count beats the
    full frame's own count clearly (≥ ``gain`` × and ≥ +``min_extra`` people); while on,
    every frame compares both (the full frame is in the batch), and tiling turns off when
    the smoothed gain falls under ``keep_gain``. While on, auto also tries tiles
    ``refine`` × finer now and then, and keeps them when they find clearly more people
    (≥ ``refine_gain`` × the recent count and +``min_extra``): the size estimate only sees
    the people found, and a packed stand hides its scale from it.
    """

    refine = 1.33
    refine_gain = 1.15
    refine_every_s = 0.0  # while refining pays, the next step follows on the next frame
    keep_gain = 1.1
    smoothing = 0.2  # weight of the newest tiled frame in the smoothed gain
    checked_for = 4  # a probe that found no gain vouches for the full frame this many rechecks

    def __init__(
        self,
        mode: str = "auto",
        recheck_s: float = 30.0,
        gain: float = 1.2,
        min_extra: int = 2,
        trigger_gap_s: float = 5.0,
    ) -> None:
        if mode not in TILING_MODES:
            raise ValueError(f"tiling mode must be one of {', '.join(TILING_MODES)}, not {mode!r}")
        self.mode = mode
        self.recheck_s = recheck_s
        self.gain = gain
        self.min_extra = min_extra
        self.trigger_gap_s = trigger_gap_s
        self.active = mode == "on"
        self.reason = {"on": "always on", "off": "off"}.get(mode, "full frame (the detector copes)")
        self.zoom = 1.0
        self._recent: float | None = None  # smoothed merged count at the current zoom
        self._ratio: float | None = None  # smoothed merged / full-frame count
        self._extra: float | None = None  # smoothed merged − full-frame count
        self._probe_wanted = mode == "auto"  # one look with tiles at start
        self._not_before: float | None = None  # no probe before this source time
        self._next_refine: float | None = None
        self._checked_at: float | None = None  # source time auto last found no gain in tiles

    def resolution_checked(self, t: float) -> bool:
        """Whether auto has lately (within ``checked_for`` × ``recheck_s``) seen that finer
        tiles find no more people: small boxes are then the scene's own people, not a sign
        of smaller ones the detector misses. Past that, small boxes count again and make
        auto probe anew."""
        at = self._checked_at
        return at is not None and at <= t <= at + self.checked_for * self.recheck_s

    def reset(self) -> None:
        self.__init__(self.mode, self.recheck_s, self.gain, self.min_extra, self.trigger_gap_s)  # type: ignore[misc]

    def decide(self, t: float) -> TilingDecision:
        if self.mode != "auto":
            return TilingDecision(self.active, False)
        if self.active:
            if self._next_refine is not None and t >= self._next_refine:
                return TilingDecision(True, True, self.zoom * self.refine)
            return TilingDecision(True, False, self.zoom)
        return TilingDecision(self._probe_wanted, self._probe_wanted, self.zoom)

    def no_gain_possible(self, t: float, zoom: float = 1.0) -> None:
        """The tiles asked for cannot do better: the full frame already brings the smallest
        people to the detector's size, or finer tiles hit the tile limit."""
        if self.mode != "auto":
            if not self.active or zoom == 1.0:
                self.reason = "people are large enough for the full frame"
            return
        if zoom > self.zoom:
            self._next_refine = t + self.recheck_s
            return
        self._off(t, "people are large enough for the full frame")

    def observe(
        self, t: float, n_full: int, n_tiled: int | None, struggling: bool, zoom: float = 1.0
    ) -> None:
        """Feed a frame's outcome: the full frame's own count, the merged count when tiles
        ran (None otherwise), whether the detector struggled on the full frame, and the
        zoom the tiles used."""
        if self.mode != "auto":
            return
        if n_tiled is None:
            wait = self._not_before
            if struggling and not self.active and (wait is None or t >= wait or t < wait - self.recheck_s):
                self._probe_wanted = True
            return
        self._probe_wanted = False
        if self.active and zoom > self.zoom:
            base = self._recent if self._recent is not None else float(n_tiled)
            if n_tiled >= max(self.refine_gain * base, base + self.min_extra):
                self.zoom, self._recent = zoom, float(n_tiled)
                self._next_refine = t + self.refine_every_s
                self.reason = f"finer tiles found {n_tiled} people, coarser ones {base:.0f}"
            else:
                self._next_refine = t + self.recheck_s
            return
        ratio, extra = n_tiled / max(n_full, 1), float(n_tiled - n_full)
        if not self.active:
            if n_tiled >= max(self.gain * n_full, n_full + self.min_extra):
                self.active = True
                self._ratio, self._extra, self._recent = ratio, extra, float(n_tiled)
                self._next_refine = t + self.refine_every_s
                self.reason = f"tiles found {n_tiled} people, full frame {n_full}"
            else:
                self._off(t, f"tiles do not pay ({n_tiled} vs {n_full} people)")
            return
        a = self.smoothing
        self._ratio = (1 - a) * (self._ratio or ratio) + a * ratio
        self._extra = (1 - a) * (self._extra or extra) + a * extra
        self._recent = (1 - a) * (self._recent or n_tiled) + a * n_tiled
        if self._ratio < self.keep_gain or self._extra < self.min_extra:
            self._off(t, f"tiles no longer pay ({n_tiled} vs {n_full} people)")
        else:
            self.reason = f"tiles find {self._ratio:.1f}× the full frame's people"

    def _off(self, t: float, reason: str) -> None:
        self.active = False
        self.reason = reason
        self.zoom, self._recent, self._ratio, self._extra = 1.0, None, None, None
        self._next_refine = None
        self._probe_wanted = False
        self._not_before = t + self.recheck_s
        self._checked_at = t
