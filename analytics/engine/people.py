"""The detection stage of a camera: the frame (and its tiles) through the detector as one
batch, boxes merged and filtered, and the evidence the count-quality signal needs.

The detector runs once at a low confidence (``CANDIDATE_CONF``): boxes at or above the
camera's confidence are people; the rest are candidates, counted (not tracked) as evidence
of people the detector sees but cannot confirm. NMS keeps the same people at either
confidence, so this costs no recall.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .config import EngineConfig
from .detector import Detections, Detector
from .geometry import ExclusionMask
from .quality import DetectionEvidence, box_coverage, box_overlaps, max_iou_per_box
from .tiling import MERGE_IOS, TilePlan, TilingDecision, TilingPolicy, merge_boxes, plan_tiles

CANDIDATE_CONF = 0.05  # faint boxes down to this are evidence for the count quality
TRACK_LOW_CONF = 0.1  # faint boxes from this up go to the tracker (its second association)
# The smallest person a camera is expected to show, against the 10th percentile of the heights
# it finds: in a perspective view the far end of the crowd is about half as tall as the
# people the detector still finds, and those it misses are the smallest.
SMALL_PERSON_SHARE = 0.45


def filter_boxes(
    xyxy: np.ndarray, frame_size: tuple[int, int], min_area_frac: float, max_aspect: float
) -> np.ndarray:
    """Mask of boxes to keep: area ≥ min_area_frac × frame area and aspect ≤ max_aspect.

    A box touching the frame's edge is exempt from the aspect limit: a real person cut by
    the edge (only legs, only a shoulder) is thin, and is still a person in the scene.
    """
    w, h = frame_size
    bw = np.maximum(xyxy[:, 2] - xyxy[:, 0], 0)
    bh = np.maximum(xyxy[:, 3] - xyxy[:, 1], 0)
    area_ok = bw * bh >= min_area_frac * w * h
    aspect = np.maximum(bw, bh) / np.maximum(np.minimum(bw, bh), 1.0)
    edge = (xyxy[:, 0] <= 1) | (xyxy[:, 1] <= 1) | (xyxy[:, 2] >= w - 1) | (xyxy[:, 3] >= h - 1)
    return area_ok & ((aspect <= max_aspect) | edge)


def _ios_any(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each box of ``a``: its largest intersection over the smaller box with ``b``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a))
    inter, area_a, area_b = box_overlaps(a, b)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return (inter / np.maximum(smaller, 1e-9)).max(axis=1)


@dataclass
class PeopleFound:
    """One frame's boxes (merged, filtered) and how they were found.

    ``boxes`` holds the confirmed people first (``n_sure`` of them, at or above the camera's
    confidence), then the faint boxes (``TRACK_LOW_CONF`` up to it). The tracker decides
    which faint boxes are people: one that continues a confirmed track is a person the
    detector saw less clearly this frame (ByteTrack's second association); the rest are
    evidence for the count quality, with the fainter ``extra_candidates``.
    """

    boxes: Detections
    n_sure: int
    at_input_scale: np.ndarray  # (len(boxes),) frame px → network input px
    extra_candidates: int  # faint boxes below TRACK_LOW_CONF (not people, not tracked)
    saturated: bool
    tiled: bool
    grid: tuple[int, int]
    full_frame_count: int  # what the full frame alone found (after filters)
    frame_size: tuple[int, int] = (0, 0)
    resolution_checked: bool = False  # auto saw lately that finer tiles find nobody more
    mirrored: bool = False  # the frame and tiles also went through the detector mirrored

    def confirm(self, ids: np.ndarray) -> tuple[Detections, np.ndarray, DetectionEvidence]:
        """People (sure, and faint ones with a track), their track IDs, and the evidence."""
        keep = np.arange(len(self.boxes)) < self.n_sure
        keep |= ids >= 0
        people = self.boxes.subset(keep)
        heights = (people.xyxy[:, 3] - people.xyxy[:, 1]) * self.at_input_scale[keep]
        unmatched = int(np.count_nonzero(~keep))
        evidence = DetectionEvidence(
            count=len(people),
            candidates=unmatched,
            weak=self.extra_candidates,
            resolution_checked=self.resolution_checked,
            heights_at_input=heights,
            max_iou=max_iou_per_box(people.xyxy),
            saturated=self.saturated,
            coverage=box_coverage(people.xyxy, self.frame_size),
        )
        return people, ids[keep], evidence


class PeopleDetector:
    """Per camera: runs the shared detector with this camera's tiling and filters."""

    def __init__(
        self, detector: Detector, config: EngineConfig, exclusions: ExclusionMask | None = None
    ) -> None:
        self.detector = detector
        # Boxes standing in an exclusion area are dropped with the size filters: before the
        # tracker, the count, the quality evidence and the tiling's sense of scale.
        self.exclusions = exclusions or ExclusionMask([])
        self.configure(config)
        self._heights: deque[float] = deque(maxlen=400)  # recent box heights, frame px
        self._plans: dict[tuple, TilePlan | None] = {}
        self._zoom_used = 1.0

    def configure(self, config: EngineConfig) -> None:
        old = getattr(self, "config", None)
        self.config = config
        if old is None or (old.tiling, old.tiling_recheck_s) != (config.tiling, config.tiling_recheck_s):
            self.policy = TilingPolicy(config.tiling, config.tiling_recheck_s)
        self._plans = {}

    def reset(self) -> None:
        self.policy.reset()
        self._heights.clear()

    @property
    def imgsz(self) -> int:
        return self.detector.effective_imgsz(self.config.imgsz)

    @property
    def imgsz_note(self) -> str:
        return self.detector.imgsz_note(self.config.imgsz)

    def plan(self, frame_size: tuple[int, int], zoom: float = 1.0) -> TilePlan | None:
        """Tiles for this frame size and the people this camera shows (cached per size band)."""
        c = self.config
        small = None
        if len(self._heights) >= 10:
            small = SMALL_PERSON_SHARE * float(np.percentile(self._heights, 10))
        band = 0 if small is None else int(np.log2(max(small, 1.0)) * 4)  # 19 % steps
        key = (frame_size[0], frame_size[1], self.imgsz, band, round(zoom, 3))
        if key not in self._plans:
            self._plans[key] = plan_tiles(
                frame_size,
                self.imgsz,
                small,
                zoom=zoom,
                min_person_px=c.tile_min_person_px,
                overlap=c.tile_overlap,
                max_tiles=c.tile_max,
            )
        return self._plans[key]

    def _default_plan(self, frame_size: tuple[int, int]) -> TilePlan | None:
        c = self.config
        return plan_tiles(
            frame_size, self.imgsz, None, overlap=c.tile_overlap, max_tiles=c.tile_max
        )

    def find(self, frame_bgr: np.ndarray, t: float) -> PeopleFound:
        c = self.config
        h, w = frame_bgr.shape[:2]
        decision = self.policy.decide(t)
        plan = self.plan((w, h), decision.zoom) if decision.tiles else None
        if decision.zoom > self.policy.zoom and plan == self.plan((w, h), self.policy.zoom):
            plan = None  # finer tiles are capped to the same ones: nothing to try
        if plan is None and self.policy.mode == "on":
            plan = self._default_plan((w, h))  # asked for tiles: tiles, even for large people
        if decision.tiles and plan is None:
            self.policy.no_gain_possible(t, decision.zoom)
            plan = self.plan((w, h), self.policy.zoom) if self.policy.active else None
            decision = TilingDecision(plan is not None, False, self.policy.zoom)
        self._zoom_used = decision.zoom
        regions = [(0, 0, w, h), *(plan.tiles if plan is not None else ())]
        images = [frame_bgr[y0:y1, x0:x1] for x0, y0, x1, y1 in regions]
        # Mirrored passes once tiling is in force, finer tiles tried then included (they are
        # compared with mirrored frames); not on a probe while tiling is off, which compares
        # the tiles with the full frame like for like and costs a sparse scene one frame.
        mirrored = plan is not None and c.tile_mirror and self.policy.active
        n_plain = len(images)
        if mirrored:
            images += [np.ascontiguousarray(image[:, ::-1]) for image in images]
            regions += regions
        conf = self.detector.config.conf if c.detect_conf is None else c.detect_conf
        passes = self.detector.detect_batch(
            images, conf=min(CANDIDATE_CONF, conf), iou=c.detect_iou, imgsz=c.imgsz
        )
        boxes, scores, source, scale = [], [], [], []
        for k, d in enumerate(passes):
            x0, y0, x1, y1 = regions[k]
            box = d.xyxy
            if k >= n_plain:  # back from the mirror image: x → width − x
                box = np.stack([x1 - x0 - box[:, 2], box[:, 1], x1 - x0 - box[:, 0], box[:, 3]], axis=1)
            boxes.append(box + np.array([x0, y0, x0, y0], np.float32))
            scores.append(d.conf)
            source.append(np.full(len(d), k))
            scale.append(np.full(len(d), self.imgsz / max(x1 - x0, y1 - y0)))
        xyxy = np.concatenate(boxes)
        score = np.concatenate(scores)
        src = np.concatenate(source)
        scl = np.concatenate(scale)
        sure = score >= conf
        feats = passes[0].feats if plan is None else None  # tiles' features are on other crops
        size = (w, h)

        def kept(box: np.ndarray) -> np.ndarray:
            ok = filter_boxes(box, size, c.min_box_area_frac, c.max_box_aspect_ratio)
            return ok & self.exclusions.keep(box, size)

        def merged(mask: np.ndarray, by_pass: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            if plan is None:  # one pass: its NMS has done the work
                box, cf, idx = xyxy[mask], score[mask], np.arange(int(mask.sum()))
            else:  # by_pass False: any two boxes may merge (faint boxes, pass or not)
                sources = src[mask] if by_pass else np.arange(int(mask.sum()))
                box, cf, idx = merge_boxes(xyxy[mask], score[mask], sources)
            ok = kept(box)
            return box[ok], cf[ok], np.flatnonzero(mask)[idx[ok]]

        p_box, p_conf, p_src = merged(sure, by_pass=True)
        # Faint boxes that are not one of the people, merged across passes (any two may merge).
        f_box, f_conf, f_src = merged(~sure, by_pass=False)
        new = _ios_any(f_box, p_box) <= MERGE_IOS
        f_box, f_conf, f_src = f_box[new], f_conf[new], f_src[new]
        trackable = f_conf >= TRACK_LOW_CONF
        tracked_src = np.concatenate([p_src, f_src[trackable]])
        all_boxes = Detections(
            np.concatenate([p_box, f_box[trackable]]).astype(np.float32),
            np.concatenate([p_conf, f_conf[trackable]]).astype(np.float32),
            None if feats is None else feats[tracked_src],  # single pass: indices are its own
        )
        full_count = len(p_box)
        if plan is not None:
            full_mask = sure & (src == 0)
            full_count = int(kept(xyxy[full_mask]).sum())
        limit = self.detector.config.max_det
        # The scale of the crowd: people and the faint person-like boxes around them (in a
        # packed stand nearly everyone is faint at first; those boxes are its scale).
        seen = np.concatenate([p_box, f_box[trackable]])
        if len(seen):
            self._heights.extend((seen[:, 3] - seen[:, 1]).tolist())
        return PeopleFound(
            boxes=all_boxes,
            n_sure=len(p_box),
            at_input_scale=scl[tracked_src],
            extra_candidates=int(np.count_nonzero(~trackable)),
            saturated=any(len(d) >= 0.95 * limit for d in passes),
            tiled=plan is not None,
            grid=plan.grid if plan is not None else (1, 1),
            full_frame_count=full_count,
            frame_size=size,
            resolution_checked=self.policy.resolution_checked(t),
            mirrored=mirrored,
        )

    def observe(self, found: PeopleFound, t: float, struggling: bool) -> None:
        """Feed auto: the full frame's own count against the merged sure count (both before
        the tracker, so the comparison is like for like)."""
        self.policy.observe(
            t, found.full_frame_count, found.n_sure if found.tiled else None, struggling, self._zoom_used
        )
