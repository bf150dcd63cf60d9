"""Person detector: Ultralytics YOLO (``.pt`` or an exported folder such as OpenVINO).

One ``Detector`` may serve several cameras in a process: inference runs under a lock, and it
holds no tracking state (each ``CrowdEngine`` owns its own tracker). Native ReID features (the
inputs of the Detect head, as Ultralytics' own ``model="auto"`` ReID does) are captured with a
forward pre-hook when the backend is a PyTorch module; other backends report ``reid = False``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import DetectorConfig

# Never let Ultralytics probe the network on its own (this product runs offline).
os.environ.setdefault("YOLO_OFFLINE", "1")

log = logging.getLogger(__name__)

PERSON_CLASS = 0
WEIGHTS_HELP = (
    "Put the weights in the repository's models/ folder (e.g. models/yolo11s.pt, downloadable "
    "from https://github.com/ultralytics/assets/releases on a machine with internet access, or "
    "an exported folder such as yolo11n_openvino_model/), or set CROWDSAFE_DETECTOR_MODEL to a "
    "local .pt file or exported model folder."
)


class ModelLoadError(RuntimeError):
    """The detector model is missing or cannot be loaded (one clear message)."""


@dataclass
class Detections:
    """Person detections of one frame (pixels of the input frame)."""

    xyxy: np.ndarray  # (N, 4) float32
    conf: np.ndarray  # (N,) float32
    feats: np.ndarray | None = None  # (N, D) native ReID features, or None

    def __len__(self) -> int:
        return len(self.conf)

    def subset(self, mask: np.ndarray) -> Detections:
        return Detections(
            self.xyxy[mask], self.conf[mask], None if self.feats is None else self.feats[mask]
        )

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), None)


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def resolve_model_path(model: str) -> Path | None:
    """Find a model locally: the path as given, then ``models/<name>`` under the repo and CWD."""
    given = Path(model).expanduser()
    candidates = [given]
    if not given.is_absolute():
        candidates += [_repo_root() / "models" / given, Path.cwd() / "models" / given]
        candidates.append(_repo_root() / given)
    for cand in candidates:
        if cand.exists():
            return cand.resolve()
    return None


def resolve_device(device: str) -> str:
    """ "auto" → "cuda:0" when CUDA is available, else "cpu"."""
    dev = (device or "auto").strip().lower()
    if dev == "auto":
        try:
            import torch  # here only: "auto" is the one setting that needs torch before a model

            return "cuda:0" if torch.cuda.is_available() else "cpu"
        except Exception:  # pragma: no cover - torch always present in this project
            return "cpu"
    if dev == "cuda":
        return "cuda:0"
    return dev


def _load_yolo(path_or_name: str, config: DetectorConfig) -> Any:
    # Ultralytics pulls in torch (~2 s, ~300 MB): loaded with the first model, so the engine's
    # analytics (synthetic scenes, the benchmarks) import without it.
    from ultralytics import YOLO

    if not config.allow_download:
        return YOLO(path_or_name, task="detect")
    # Downloads are opt-in and bounded: Ultralytics retries, so run it in a thread with a timeout.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["model"] = YOLO(path_or_name, task="detect")
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="crowdsafe-model-download")
    thread.start()
    thread.join(config.download_timeout_s)
    if thread.is_alive():
        raise ModelLoadError(
            f"Timed out after {config.download_timeout_s:.0f}s downloading detector model "
            f"{path_or_name!r}. {WEIGHTS_HELP}"
        )
    if "error" in box:
        raise box["error"]
    return box["model"]


class Detector:
    """A loaded person detector. Thread-safe: inference runs under a lock."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        path = resolve_model_path(config.model)
        if path is None:
            if not config.allow_download or os.sep in config.model or "/" in config.model:
                raise ModelLoadError(
                    f"Detector model {config.model!r} not found (looked for it as a path and in "
                    f"{_repo_root() / 'models'}). {WEIGHTS_HELP}"
                )
            target = config.model
        else:
            target = str(path)
        self.model_path = target
        self._lock = threading.Lock()
        try:
            self.model = _load_yolo(target, config)
            self.backend = self._backend_name()
            self._warm_up()
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Cannot load detector model {target!r}: {type(exc).__name__}: {exc}. "
                f"{WEIGHTS_HELP}"
            ) from exc
        self.fixed_imgsz, self.fixed_batch = self._export_shape()
        if note := self.imgsz_note():
            log.warning("Detector %s: %s", target, note)
        self.native_features = self._install_feature_hook()
        if not self.native_features:
            log.info(
                "Detector %s (%s) gives no native features: tracker ReID is off for it",
                target,
                self.backend,
            )

    # -- setup ---------------------------------------------------------------------------
    def _backend_name(self) -> str:
        p = Path(self.model_path)
        if p.suffix == ".pt":
            return "pytorch"
        if p.is_dir() and any(p.glob("*.xml")):
            return "openvino"
        return p.suffix.lstrip(".") or "unknown"

    def _predict(self, frame: np.ndarray, conf: float, iou: float, imgsz: int) -> Any:
        return self._predict_many([frame], conf, iou, imgsz)[0]

    def _predict_many(self, frames: list[np.ndarray], conf: float, iou: float, imgsz: int) -> list[Any]:
        """One predict call for all ``frames``: one batch on models with a dynamic batch
        (PyTorch, dynamic exports); Ultralytics splits it for fixed-batch exports."""
        extra: dict[str, Any] = {}
        if self.config.half and self.device.startswith("cuda"):
            extra["half"] = True
        return self.model.predict(
            frames,
            classes=[PERSON_CLASS],
            conf=conf,
            iou=iou,
            imgsz=imgsz,
            device=self.device,
            verbose=False,
            save=False,
            max_det=self.config.max_det,
            **extra,
        )

    def _warm_up(self) -> None:
        # Builds the predictor (and fails early on a broken model file).
        self._predict(np.zeros((64, 64, 3), np.uint8), self.config.conf, self.config.iou, 64)

    def _export_shape(self) -> tuple[int | None, int | None]:
        """(input size, batch) an export is fixed at, or None where the model takes any."""
        backend = getattr(getattr(self.model, "predictor", None), "model", None)
        if backend is None or getattr(backend, "format", "pt") == "pt":
            return None, None
        meta = getattr(backend, "metadata", None) or {}
        if meta.get("dynamic") or meta.get("args", {}).get("dynamic"):
            return None, None
        size = meta.get("imgsz") or getattr(backend, "imgsz", None)
        fixed = int(max(size)) if isinstance(size, list | tuple) and size else None
        batch = int(meta.get("batch") or getattr(backend, "batch", 1) or 1)
        return fixed, batch

    def effective_imgsz(self, requested: int | None = None) -> int:
        """The input size a call really runs at: a fixed-size export keeps its own."""
        if self.fixed_imgsz:
            return self.fixed_imgsz
        size = self.config.imgsz if requested is None else int(requested)
        return max(32, int(math.ceil(size / 32)) * 32)  # the network's stride

    def imgsz_note(self, requested: int | None = None) -> str:
        """Why the configured input size is not the one in force ("" when it is)."""
        size = self.config.imgsz if requested is None else int(requested)
        if self.fixed_imgsz and size != self.fixed_imgsz:
            return (
                f"fixed-size export: input size {size} cannot be honoured, "
                f"runs at {self.fixed_imgsz}"
            )
        return ""

    def _install_feature_hook(self) -> bool:
        """Capture the Detect head's inputs like Ultralytics' track.py does (model="auto")."""
        import torch

        predictor = getattr(self.model, "predictor", None)
        backend = getattr(predictor, "model", None)
        net = getattr(backend, "model", None)
        if not isinstance(net, torch.nn.Module):
            return False
        try:
            from ultralytics.nn.modules.head import Detect

            head = net.model[-1]  # type: ignore[index]
        except Exception:
            return False
        if not isinstance(head, Detect) or getattr(head, "end2end", False):
            return False  # NMS-free heads give no indices to pick features with

        def pre_hook(_module: Any, inputs: tuple[Any, ...]) -> None:
            # A non-None ``_feats`` makes DetectionPredictor.postprocess keep the NMS indices and
            # attach per-box features to the result. Looked up each call: the predictor may be
            # rebuilt by Ultralytics, the head module stays the same.
            self.model.predictor._feats = list(inputs[0])

        head.register_forward_pre_hook(pre_hook)
        return True

    # -- inference -----------------------------------------------------------------------
    def detect(
        self,
        frame_bgr: np.ndarray,
        conf: float | None = None,
        iou: float | None = None,
        imgsz: int | None = None,
    ) -> Detections:
        """Persons in a BGR frame. ``conf``/``iou``/``imgsz`` override the config per call."""
        return self.detect_batch([frame_bgr], conf, iou, imgsz)[0]

    def detect_batch(
        self,
        images_bgr: list[np.ndarray],
        conf: float | None = None,
        iou: float | None = None,
        imgsz: int | None = None,
    ) -> list[Detections]:
        """Persons in several BGR images (e.g. a frame and its tiles) in one predict call."""
        cfg = self.config
        with self._lock:
            results = self._predict_many(
                list(images_bgr),
                cfg.conf if conf is None else conf,
                cfg.iou if iou is None else iou,
                self.effective_imgsz(imgsz),
            )
            return [self._to_detections(r) for r in results]

    def _to_detections(self, result: Any) -> Detections:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        xyxy = boxes.xyxy.cpu().numpy().astype(np.float32)
        scores = boxes.conf.cpu().numpy().astype(np.float32)
        feats = getattr(result, "feats", None)
        feat_arr = None
        if self.native_features and feats is not None and len(feats) == len(scores):
            feat_arr = feats.detach().float().cpu().numpy()
        return Detections(xyxy, scores, feat_arr)


_CACHE: dict[tuple[str, str], Detector] = {}
_CACHE_LOCK = threading.Lock()


def load_detector(config: DetectorConfig) -> Detector:
    """Load a new detector (raises ModelLoadError with one clear message)."""
    return Detector(config)


def get_detector(config: DetectorConfig) -> Detector:
    """A per-process cached detector keyed by (model, device); loads it once."""
    path = resolve_model_path(config.model)
    key = (str(path) if path else config.model, resolve_device(config.device))
    with _CACHE_LOCK:
        det = _CACHE.get(key)
        if det is None:
            det = Detector(config)
            _CACHE[key] = det
        return det


def clear_detector_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
