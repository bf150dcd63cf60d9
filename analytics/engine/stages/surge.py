"""Surge stage: how fast the whole view's count and density grow."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import EngineConfig
from ..surge import SurgeMeter
from .base import Setup


@dataclass(frozen=True, slots=True)
class Surge:
    surge: float  # 0..1; 0 below the surge's minimum density (as the surge alert)
    count_rate: float  # people per second over the window (signed)
    density_rate: float  # p/m² per second over the window (signed)


def new_meter(config: EngineConfig) -> SurgeMeter:
    return SurgeMeter(
        config.surge_window_s,
        config.surge_min_count,
        config.surge_rel_change_full,
        config.surge_density_rate_full_pm2s,
    )


def retune(meter: SurgeMeter, config: EngineConfig) -> None:
    """New window and scales; the samples already taken stay."""
    meter.window_s, meter.min_count = config.surge_window_s, config.surge_min_count
    meter.rel_change_full = config.surge_rel_change_full
    meter.density_rate_full = config.surge_density_rate_full_pm2s


class SurgeStage:
    def __init__(self, setup: Setup) -> None:
        self.meter = new_meter(setup.config)
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        self._min_density = setup.config.surge_min_density_pm2
        retune(self.meter, setup.config)

    def reset(self) -> None:
        self.meter.reset()

    def update(self, t: float, count: int, density_pm2: float) -> Surge:
        reading = self.meter.update(t, count, density_pm2)
        surge = reading.surge if density_pm2 >= self._min_density else 0.0
        return Surge(surge, reading.count_rate, reading.density_rate)
