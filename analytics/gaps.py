"""Where a time series has no data: chart lines break there instead of bridging the period.

Pure. A series of points (oldest first) with a nominal spacing `step_s` (the bucket size; when
unknown, the smallest spacing seen) is split wherever two consecutive points are more than
`GAP_FACTOR` steps apart (the step: the larger of the two). The web charts get a null point
there (Chart.js draws no line through it), the PDF chart one line per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

GAP_FACTOR = 2.0


def nominal_step(times: Sequence[datetime]) -> float | None:
    deltas = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    positive = [d for d in deltas if d > 0]
    return min(positive) if positive else None


def gap_starts(
    times: Sequence[datetime], step_s: float | None = None, factor: float = GAP_FACTOR
) -> list[int]:
    """Indices i (>= 1) where times[i] comes more than factor x step after times[i - 1].

    The step is the bucket size or the series' own smallest spacing, whichever is larger, so
    data stored more sparsely than the buckets (a row a minute in 10 s buckets) is no gap.
    """
    step = max(step_s or 0.0, nominal_step(times) or 0.0)
    if step <= 0:
        return []
    limit = factor * step
    return [i for i in range(1, len(times)) if (times[i] - times[i - 1]).total_seconds() > limit]


def runs(times: Sequence[datetime], step_s: float | None = None, factor: float = GAP_FACTOR) -> list[range]:
    """The index ranges of the unbroken stretches of the series."""
    if not times:
        return []
    edges = [0, *gap_starts(times, step_s, factor), len(times)]
    return [range(a, b) for a, b in zip(edges, edges[1:], strict=False)]
