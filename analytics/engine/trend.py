"""EMA trend with a short forecast (Holt's linear smoothing in source time)."""

from __future__ import annotations

import math

from .results import TrendResult


class TrendTracker:
    """Exponential moving average of a value plus its slope, and the value expected
    ``horizon_s`` seconds ahead.

    ``alpha`` applies per ``interval_s`` of source time (alpha_eff = 1 - (1 - alpha)^(dt /
    interval)), so the trend does not depend on the processing frame rate. The label is
    "rising"/"falling" when slope × horizon exceeds ``delta`` either way, else
    "stable". Units are those of the tracked value (p/m² for density, 0..1 for risk).
    """

    def __init__(
        self,
        alpha: float = 0.3,
        beta: float = 0.3,
        interval_s: float = 1.0,
        horizon_s: float = 30.0,
        delta: float = 0.1,
        lower: float | None = 0.0,
        upper: float | None = None,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.interval_s = interval_s
        self.horizon_s = horizon_s
        self.delta = delta
        self.lower = lower
        self.upper = upper
        self.reset()

    def reset(self) -> None:
        self.level: float | None = None
        self.slope = 0.0
        self.t: float | None = None

    def _eff(self, a: float, dt: float) -> float:
        if dt <= 0:
            return 0.0
        return 1.0 - math.pow(1.0 - a, dt / self.interval_s)

    def update(self, t: float, value: float) -> TrendResult:
        if self.level is None or self.t is None:
            self.level, self.slope, self.t = value, 0.0, t
        else:
            dt = t - self.t
            if dt > 0:
                a, b = self._eff(self.alpha, dt), self._eff(self.beta, dt)
                predicted = self.level + self.slope * dt
                new_level = a * value + (1 - a) * predicted
                self.slope = b * (new_level - self.level) / dt + (1 - b) * self.slope
                self.level = new_level
                self.t = t
        change = self.slope * self.horizon_s  # unclamped, so a value near 0 can still be falling
        forecast = self.level + change
        if self.lower is not None:
            forecast = max(self.lower, forecast)
        if self.upper is not None:
            forecast = min(self.upper, forecast)
        label = "rising" if change > self.delta else "falling" if change < -self.delta else "stable"
        return TrendResult(label, self.level, self.slope, forecast, self.horizon_s)
