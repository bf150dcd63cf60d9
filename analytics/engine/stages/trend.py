"""Trend stage: density and risk trends with their forecasts, and the recent history."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..config import EngineConfig
from ..results import TrendResult
from ..trend import TrendTracker
from .base import Setup


@dataclass(frozen=True, slots=True)
class Trends:
    density: TrendResult
    risk: TrendResult
    count_history: np.ndarray  # the last ``sparkline_length`` frames, oldest first
    density_history: np.ndarray
    risk_history: np.ndarray


def _tune(tr: TrendTracker, c: EngineConfig, delta: float) -> None:
    tr.alpha, tr.beta, tr.interval_s = c.ema_alpha, c.trend_beta, c.trend_interval_s
    tr.horizon_s, tr.delta = c.forecast_horizon_s, delta


class TrendStage:
    def __init__(self, setup: Setup) -> None:
        self.density_trend = TrendTracker()
        self.risk_trend = TrendTracker(upper=1.0)
        self._length = 0
        self._history: tuple[deque[float], deque[float], deque[float]] = (deque(), deque(), deque())
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        """New smoothing and horizon (the trends carry on); a new sparkline length keeps the
        latest values."""
        c = setup.config
        _tune(self.density_trend, c, c.trend_density_delta_pm2)
        _tune(self.risk_trend, c, c.trend_risk_delta)
        n = max(c.sparkline_length, 2)
        if n != self._length:
            self._length = n
            count, dens, risk = self._history
            self._history = (deque(count, n), deque(dens, n), deque(risk, n))

    def reset(self, keep_history: bool = False) -> None:
        """Start the trends afresh; ``keep_history`` keeps the sparklines (a looped file)."""
        self.density_trend.reset()
        self.risk_trend.reset()
        if not keep_history:
            for h in self._history:
                h.clear()

    def update(self, t: float, count: int, density_pm2: float, risk_score: float) -> Trends:
        count_h, dens_h, risk_h = self._history
        count_h.append(float(count))
        dens_h.append(density_pm2)
        risk_h.append(risk_score)
        return Trends(
            density=self.density_trend.update(t, density_pm2),
            risk=self.risk_trend.update(t, risk_score),
            count_history=np.array(count_h),
            density_history=np.array(dens_h),
            risk_history=np.array(risk_h),
        )
