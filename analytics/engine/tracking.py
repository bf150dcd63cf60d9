"""Per-camera BoT-SORT tracking through Ultralytics' tracker classes.

Each ``CrowdEngine`` owns one ``PersonTracker``: track IDs and tracker state never mix between
cameras (the original kept one tracker on a shared model). Detections come from a shared
``Detector``; this module only feeds them, with their native features, into BOTSORT.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .detector import Detections

log = logging.getLogger(__name__)


class _TrackerInput:
    """The Results/Boxes-like view BOTSORT.update expects (numpy, boolean-indexable)."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy = xyxy.astype(np.float32, copy=False)
        self.conf = conf.astype(np.float32, copy=False)
        self.cls = np.zeros(len(conf), dtype=np.float32)
        xywh = np.empty_like(self.xyxy)
        xywh[:, 0] = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        xywh[:, 1] = (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2
        xywh[:, 2] = self.xyxy[:, 2] - self.xyxy[:, 0]
        xywh[:, 3] = self.xyxy[:, 3] - self.xyxy[:, 1]
        self.xywh = xywh

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: Any) -> _TrackerInput:
        return _TrackerInput(self.xyxy[idx], self.conf[idx])


def load_tracker_args(path: str | Path, with_reid: bool) -> Any:
    """Read the repository's tracker yaml; ReID may only use the detector's own features."""
    from ultralytics.utils import YAML, IterableSimpleNamespace  # with the first tracker (torch)

    cfg = dict(YAML.load(str(path)))
    if cfg.get("tracker_type") != "botsort":
        raise ValueError(f"{path}: tracker_type must be 'botsort'")
    # "auto" = native detector features. Anything else would load (or download) a ReID model.
    cfg["model"] = "auto"
    cfg["with_reid"] = bool(cfg.get("with_reid", False)) and with_reid
    return IterableSimpleNamespace(**cfg)


class PersonTracker:
    """BoT-SORT state for one camera."""

    def __init__(self, config_path: str | Path, reid: bool) -> None:
        from ultralytics.trackers.bot_sort import BOTSORT  # with the first tracker (torch)

        self.args = load_tracker_args(config_path, reid)
        self.reid = bool(self.args.with_reid)
        self._tracker = BOTSORT(args=self.args)

    def reset(self) -> None:
        self._tracker.reset()
        self._tracker.reset_id()

    def update(self, detections: Detections, frame: np.ndarray | None) -> np.ndarray:
        """Track one frame. Returns (M, 3) int rows ``[detection_index, track_id, 0]``.

        Only confirmed tracks matched in this frame are returned; a detection with no row has
        no ID (it is never given a made-up one). The boxes themselves stay the detector's.
        """
        inp = _TrackerInput(detections.xyxy, detections.conf)
        # Without features (e.g. synthetic input) BOTSORT associates on motion only; it never
        # feeds the image to the "auto" encoder.
        feats = detections.feats if self.reid else None
        out = self._tracker.update(inp, frame, feats=feats)
        if out is None or len(out) == 0:
            return np.zeros((0, 3), dtype=np.int64)
        det_idx = out[:, -1].astype(np.int64)
        track_ids = out[:, 4].astype(np.int64)
        return np.stack([det_idx, track_ids, np.zeros_like(det_idx)], axis=1)
