"""Count quality: can this frame's count be trusted, and if not, why and by how much.

A person detector fails exactly when a crowd is dangerous: people too small for its input,
hidden behind each other, or a view it cannot read (motion blur, darkness, a covered lens).
A low count then reads SAFE. Two kinds of evidence, both cheap:

* the image itself (``ViewMeter``): sharpness (variance of the Laplacian, against the
  camera's own recent level), brightness, blocks with no texture (a covered or blocked lens),
  and the global shift against a reference view (phase correlation: the camera moved);
* the detections (``assess_detections``): many boxes near the detector's size limit, heavy
  overlap, the detector's box limit reached, and many person-like candidates below the
  confidence threshold (people it sees but cannot confirm: the typical packed crowd).

The undercount estimate is rough and stated: the confirmed count plus each unconfirmed box
weighted by how often such boxes were people on the hand-counted dev set
(``../shared/data/crowd-counts``: about half of the faint boxes between the tracker's low
threshold and the camera's confidence, about a fifth of the weaker ones). When it says at
least 15 % more people are there than counted, the count is ``degraded`` ("faint"); at half
as many again, ``unreliable``. The factor is only reported when the count is not ``ok``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from .results import CountQuality

THUMB_WIDTH = 320  # image checks run on a thumbnail this wide
SHIFT_WIDTH = 128  # global-shift check on a smaller one
SMALL_AT_INPUT_FACTOR = 1.5  # a box under 1.5 × the detector's floor height is "small"
FAINT_WEIGHT = 0.5  # share of faint, unconfirmed boxes that were people on the dev set
WEAK_WEIGHT = 0.2  # the same for the weaker boxes (below the tracker's low threshold)
FAINT_DEGRADED = 0.15  # estimate this share above the count: degraded
FAINT_UNRELIABLE = 0.5  # ... and this share above it: unreliable
SATURATED_COVERAGE = 0.5  # boxes covering half the frame: a packed view


@dataclass(frozen=True)
class ViewCheck:
    """What the image alone says about a frame."""

    sharpness: float
    brightness: float
    reasons: tuple[str, ...]  # subset of blur, dark, obstructed, camera_moved

    @property
    def unusable(self) -> bool:
        """Too blurred, dark or blocked to count anyone."""
        return any(r in ("blur", "dark", "obstructed") for r in self.reasons)


@dataclass
class ViewMeter:
    """Per camera: sharpness history and a reference view for the camera-moved check."""

    blur_min: float = 12.0  # absolute floor of the Laplacian variance
    blur_rel: float = 0.35  # blurred below this share of the camera's usual sharpness
    dark_max: float = 25.0  # mean grey level (0..255)
    flat_block_std: float = 4.0  # a 4×4 block this flat has no texture at all
    flat_share: float = 0.5  # obstructed when this share of blocks is flat
    moved_frac: float = 0.04  # shift over this share of the width = camera moved
    reference_every_s: float = 10.0
    _sharp: deque[float] = field(default_factory=lambda: deque(maxlen=120))
    _ref: np.ndarray | None = None
    _ref_t: float | None = None
    _window: np.ndarray | None = None

    def reset(self) -> None:
        self._sharp.clear()
        self._ref = self._ref_t = None

    def check(self, frame_bgr: np.ndarray, t: float) -> ViewCheck:
        w = frame_bgr.shape[1]
        step = max(1, -(-w // THUMB_WIDTH))
        # Plain subsampling, no resize: ~free, and blur still shows as lost fine detail.
        small = np.ascontiguousarray(frame_bgr[::step, ::step])
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        sharp = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        bright = float(grey.mean())
        reasons: list[str] = []
        if bright < self.dark_max:
            reasons.append("dark")
        gh, gw = grey.shape
        blocks = grey[: gh - gh % 4, : gw - gw % 4].reshape(4, gh // 4, 4, gw // 4)
        flat = blocks.std(axis=(1, 3)) < self.flat_block_std
        if flat.mean() >= self.flat_share and "dark" not in reasons:
            reasons.append("obstructed")
        usual = float(np.median(self._sharp)) if len(self._sharp) >= 5 else None
        if sharp < self.blur_min or (usual is not None and sharp < self.blur_rel * usual):
            reasons.append("blur")
        elif not reasons:
            self._sharp.append(sharp)  # only clear frames set the camera's usual sharpness
        if self._moved(grey, t):
            reasons.append("camera_moved")
        return ViewCheck(sharp, bright, tuple(reasons))

    def _moved(self, grey: np.ndarray, t: float) -> bool:
        step = max(1, -(-grey.shape[1] // SHIFT_WIDTH))
        cur = grey[::step, ::step].astype(np.float32)
        sh, sw = cur.shape
        if self._window is None or self._window.shape != cur.shape:
            self._window = cv2.createHanningWindow((sw, sh), cv2.CV_32F)
            self._ref = None
        if self._ref is None or self._ref_t is None or t < self._ref_t:
            self._ref, self._ref_t = cur, t
            return False
        # Copies: OpenCV applies the window to float32 inputs in place, which wore the
        # reference away frame by frame (and a worn reference read as a camera move).
        (dx, dy), _ = cv2.phaseCorrelate(self._ref.copy(), cur.copy(), self._window)
        moved = float(np.hypot(dx, dy)) > self.moved_frac * sw
        if not moved and t - self._ref_t >= self.reference_every_s:
            self._ref, self._ref_t = cur, t  # a still camera refreshes its reference
        return moved


@dataclass(frozen=True)
class DetectionEvidence:
    """What a frame's detections tell about the count (see ``assess_detections``)."""

    count: int  # confirmed people (after filters)
    candidates: int  # faint boxes (tracker's low threshold up to the confidence), unconfirmed
    heights_at_input: np.ndarray  # (count,) box heights at the network input, px
    max_iou: np.ndarray  # (count,) largest IoU of each box with another box
    saturated: bool  # a pass returned its box limit
    coverage: float = 0.0  # share of the frame inside someone's box
    weak: int = 0  # person-like boxes fainter still (below the tracker's low threshold)
    resolution_checked: bool = False  # finer tiles were tried lately and found nobody more

    @property
    def expected_missed(self) -> float:
        """People the unconfirmed boxes probably are (dev-set calibration, see the module)."""
        return FAINT_WEIGHT * self.candidates + WEAK_WEIGHT * self.weak


def box_coverage(xyxy: np.ndarray, frame_size: tuple[int, int], cell: int = 8) -> float:
    """Share of the frame covered by the union of the boxes (on a grid of ``cell`` px)."""
    w, h = frame_size
    gw, gh = max(1, -(-w // cell)), max(1, -(-h // cell))
    mask = np.zeros((gh, gw), bool)
    for x1, y1, x2, y2 in (np.asarray(xyxy) / cell).astype(int).tolist():
        mask[max(y1, 0) : max(y2, 0) + 1, max(x1, 0) : max(x2, 0) + 1] = True
    return float(mask.mean())


def box_overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas (len(a), len(b)) and the areas of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter, (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def max_iou_per_box(xyxy: np.ndarray) -> np.ndarray:
    """Largest IoU of each box with any other box (0 for a single box)."""
    if len(xyxy) < 2:
        return np.zeros(len(xyxy))
    inter, area, _ = box_overlaps(xyxy, xyxy)
    iou = inter / np.maximum(area[:, None] + area[None, :] - inter, 1e-9)
    np.fill_diagonal(iou, 0.0)
    return iou.max(axis=1)


def assess_detections(ev: DetectionEvidence, min_person_px: float) -> tuple[list[str], bool]:
    """Reasons from the detections, and whether they make the count unreliable (not only
    degraded)."""
    reasons: list[str] = []
    n = ev.count
    # Saturated: the detector's box limit, or people filling the view edge to edge (a packed
    # stand): the people behind the front rows are hidden whatever the detector does.
    if ev.saturated or (n >= 20 and ev.coverage >= SATURATED_COVERAGE):
        reasons.append("saturated")
    if n >= 5:
        small = np.mean(ev.heights_at_input < SMALL_AT_INPUT_FACTOR * min_person_px)
        if small >= 0.4 and not ev.resolution_checked:
            reasons.append("small_boxes")
        if np.mean(ev.max_iou >= 0.3) >= 0.3:
            reasons.append("overlap")
    # Many unconfirmed person-like boxes against the confirmed people: a crowd the detector
    # sees but cannot resolve (the packed stand, the distant concourse).
    # Two views of it: the calibrated estimate of missed people, and plainly many shapes
    # against few people (a packed stand untiled: a dozen weak boxes, nobody confirmed).
    missed = ev.expected_missed
    shapes = ev.candidates + ev.weak
    many_shapes = shapes >= 10 and shapes >= n
    faint = many_shapes or missed >= max(3.0, FAINT_DEGRADED * n)
    if faint:
        reasons.append("faint")
    unreliable = "saturated" in reasons or (
        faint and (missed >= max(5.0, FAINT_UNRELIABLE * n) or (many_shapes and shapes >= 2 * n))
    )
    return reasons, unreliable


def undercount_estimate(ev: DetectionEvidence) -> tuple[float | None, int | None]:
    """(true/confirmed ratio, estimated people) from the unconfirmed boxes: a rough, stated
    estimate; (None, None) when it adds nobody, no ratio with nobody confirmed."""
    estimated = round(ev.count + ev.expected_missed)
    if estimated <= ev.count:
        return None, None
    return (round(estimated / ev.count, 2) if ev.count else None), estimated


def count_quality(
    view: ViewCheck | None, ev: DetectionEvidence | None, min_person_px: float, held: bool = False
) -> CountQuality:
    """Combine the image and detection evidence into one quality signal."""
    reasons: list[str] = list(view.reasons) if view else []
    unreliable = bool(view and view.unusable)
    factor = None
    if ev is not None:
        det_reasons, det_unreliable = assess_detections(ev, min_person_px)
        reasons += det_reasons
        unreliable = unreliable or det_unreliable
    level = "unreliable" if unreliable else "degraded" if reasons else "ok"
    estimated = None
    if level != "ok" and ev is not None and not held:
        factor, estimated = undercount_estimate(ev)
    return CountQuality(level, reasons, factor, estimated, held)
