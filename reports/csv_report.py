"""CSV of every stored second in the range, streamed row by row (constant memory)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.utils import timezone

from analytics import selectors

HEADERS = (
    "Timestamp",
    "Zone",
    "Count",
    "Peak count",
    "Density (p/m²)",
    "Avg speed (m/s)",
    "Max speed (m/s)",
    "Surge (0..1)",
    "Risk score (0..1)",
    "Risk level",
    "Flow in",
    "Flow out",
    "Clusters",
    "Flow coherence (0..1)",
    "Pressure (s⁻²)",
    "Anomalies",
    "Calibrated",
    "Count quality",
    "Quality reasons",
    "Undercount factor",
    "Tiled",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(text: str) -> str:
    """Text a spreadsheet would run as a formula is quoted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def iter_csv(camera, start, end, *, zone=None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    tz = timezone.get_current_timezone()
    zone_name = _safe(zone.name) if zone else ""
    yield "\ufeff" + writer.writerow(HEADERS)  # the BOM lets spreadsheets read UTF-8 (p/m²)
    for m in selectors.iter_metric_rows(camera, start, end, zone=zone):
        yield writer.writerow(
            (
                m.timestamp.astimezone(tz).isoformat(),
                zone_name,
                m.count,
                max(m.count, m.count_max),
                round(m.density, 3),
                round(m.avg_speed, 2),
                round(m.max_speed, 2),
                round(m.surge, 3),
                round(m.risk_score, 3),
                m.risk_level,
                m.flow_in,
                m.flow_out,
                m.clusters,
                round(m.flow_coherence, 3),
                round(m.pressure, 5),
                m.anomalies,
                m.calibrated,
                m.count_quality,
                " ".join(m.quality_reasons or []),
                "" if m.undercount_factor is None else round(m.undercount_factor, 2),
                m.tiled,
            )
        )
