"""What every stage is configured from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from ..config import CameraGeometry, EngineConfig
from ..geometry import Calibration, ExclusionMask, GroundMapper


@dataclass(frozen=True)
class Setup:
    """The engine configuration and the camera's ground plane, as one value.

    Stages get a new one through ``reconfigure`` whenever either changes, and work out from it
    (once, not per frame) whatever only changes then: thresholds, polygons, line segments.
    """

    config: EngineConfig
    geometry: CameraGeometry
    mapper: GroundMapper

    @classmethod
    def build(cls, config: EngineConfig, geometry: CameraGeometry) -> Setup:
        """Raises ``CalibrationError`` when the calibration points are unusable."""
        return cls(config, geometry, GroundMapper(geometry, Calibration.from_geometry(geometry)))

    @property
    def calibration(self) -> Calibration | None:
        return self.mapper.calibration

    @cached_property
    def exclusions(self) -> ExclusionMask:
        return ExclusionMask(self.geometry.exclusions)


class Stage(Protocol):
    """What the engine asks of every stage besides its own ``update(...)``.

    A stage alone sets its state and its output (a frozen dataclass returned by ``update``);
    the engine only passes outputs on to the stages after it and into the ``FrameResult``.
    """

    def reconfigure(self, setup: Setup) -> None:
        """Use ``setup`` from the next frame on, keeping the history that still applies."""

    def reset(self) -> None:
        """Forget what past frames taught (the source restarted or looped)."""
