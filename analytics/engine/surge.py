"""Surge: how fast the count and density grow over a window of source time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class SurgeReading:
    surge: float  # 0..1
    count_rate: float  # people per second over the window (signed)
    density_rate: float  # people per m² per second over the window (signed)
    span_s: float  # seconds actually covered by the window


class SurgeMeter:
    """Rate of change of count and density over ``window_s`` seconds (the original README's
    "sudden change in crowd count"), normalised to 0..1.

    surge = max(relative growth / rel_change_full, density rate / density_rate_full), clipped
    to 0..1, where relative growth is (count_now - count_then) / max(count_then, min_count), so a
    doubling of a crowd of at least ``min_count`` people within the window gives 1.0 by default.
    Only growth counts: people leaving lowers the crowding risk.
    """

    def __init__(
        self,
        window_s: float = 5.0,
        min_count: int = 5,
        rel_change_full: float = 1.0,
        density_rate_full: float = 0.2,
    ) -> None:
        self.window_s = window_s
        self.min_count = min_count
        self.rel_change_full = rel_change_full
        self.density_rate_full = density_rate_full
        self._samples: deque[tuple[float, int, float]] = deque()

    def reset(self) -> None:
        self._samples.clear()

    def update(self, t: float, count: int, density_pm2: float) -> SurgeReading:
        samples = self._samples
        samples.append((t, count, density_pm2))
        # Keep one sample at or just beyond the window start as the reference.
        while len(samples) > 2 and samples[1][0] <= t - self.window_s:
            samples.popleft()
        t0, c0, d0 = samples[0]
        span = t - t0
        if span <= 1e-6:
            return SurgeReading(0.0, 0.0, 0.0, 0.0)
        count_rate = (count - c0) / span
        density_rate = (density_pm2 - d0) / span
        rel = (count - c0) / max(c0, self.min_count, 1)
        surge = max(
            rel / self.rel_change_full if self.rel_change_full > 0 else 0.0,
            density_rate / self.density_rate_full if self.density_rate_full > 0 else 0.0,
        )
        return SurgeReading(min(1.0, max(0.0, surge)), count_rate, density_rate, span)
