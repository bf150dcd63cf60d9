"""The content every report format shares, built once from the metrics figures.

Long ranges are averaged into at most `max_rows` table rows and `CHART_POINTS` chart points,
so the size of a report (and the memory to build it) does not grow with the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from analytics import presenters, selectors

CHART_POINTS = 400
LEVEL_COLOURS = {  # row tints, as the original's PDF
    "CRITICAL": (255, 200, 200),
    "WARNING": (255, 235, 200),
    "CAUTION": (255, 255, 200),
    "SAFE": (255, 255, 255),
}
TITLE = "CrowdSafe Analytics Report"
TABLE_HEADERS = (
    "Time", "Count (avg)", "Peak", "Density (p/m²)", "Speed (m/s)", "Risk (%)", "Count quality", "Risk level"
)


@dataclass
class ReportData:
    title: str
    camera_name: str
    location: str
    zone_name: str
    start: datetime
    end: datetime
    generated: datetime
    time_zone: str
    step_seconds: int
    summary: dict
    rows: list[dict]
    chart_points: list[dict] = field(default_factory=list)

    def fmt_time(self, value: datetime | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.get_current_timezone()).strftime("%d %b %Y %H:%M:%S")

    @property
    def metadata(self) -> list[tuple[str, str]]:
        return [
            ("Camera", self.camera_name + (f" ({self.location})" if self.location else "")),
            ("Zone", self.zone_name),
            ("Range", f"{self.fmt_time(self.start)} to {self.fmt_time(self.end)} ({self.time_zone})"),
            ("Generated", f"{self.fmt_time(self.generated)} ({self.time_zone})"),
            ("Records", f"{self.summary['total_records']:,} seconds of data"),
            ("Table resolution", _resolution(self.step_seconds)),
        ]

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        s = self.summary
        by_level = s["seconds_by_level"]
        return [
            ("Average count", f"{s['avg_count']:.1f}"),
            ("Peak count", f"{s['peak_count']}"),
            ("Average density", f"{s['avg_density']:.2f} p/m²"),
            ("Peak density", f"{s['max_density']:.2f} p/m²"),
            ("Average speed", f"{s['avg_velocity']:.2f} m/s"),
            ("Average risk", f"{s['avg_risk'] * 100:.1f} %"),
            ("Maximum risk", f"{s['max_risk_score'] * 100:.1f} % ({s['max_risk_level'] or 'no data'})"),
            ("Flow in / out", f"{s['flow_in_total']} / {s['flow_out_total']}"),
            (
                "Time at WARNING / CRITICAL",
                f"{_duration(by_level['WARNING'])} / {_duration(by_level['CRITICAL'])}",
            ),
            ("Count quality", self.quality_line),
        ]

    @property
    def quality_line(self) -> str:
        """How much of the period the count could not be fully trusted."""
        s = self.summary
        if not s["total_records"]:
            return "no data"
        seconds, share = s["seconds_by_quality"], s["share_by_quality"]
        if not seconds["degraded"] and not seconds["unreliable"]:
            return "ok for the whole period"
        line = (
            f"degraded {_duration(seconds['degraded'])} ({share['degraded'] * 100:.1f} %), "
            f"unreliable {_duration(seconds['unreliable'])} ({share['unreliable'] * 100:.1f} %) of the period"
        )
        if s.get("max_undercount_factor"):
            line += f"; counts up to ×{s['max_undercount_factor']:.2f} too low"
        return line

    def table_cells(self, row: dict) -> tuple[str, ...]:
        return (
            self.fmt_time(row["timestamp"]),
            f"{row['count']:.1f}" if isinstance(row["count"], float) else str(row["count"]),
            str(row["count_max"]),
            f"{row['density']:.2f}",
            f"{row['avg_speed']:.2f}",
            f"{row['risk_score'] * 100:.1f}",
            _quality_cell(row),
            row["risk_level"],
        )


def _quality_cell(row: dict) -> str:
    """The worst count quality of the row, with the estimate when the count is known to be low."""
    text = row.get("count_quality") or "ok"
    if row.get("estimated_count") is not None:
        text += f" ≈{row['estimated_count']}"
    return text


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _resolution(step: int) -> str:
    if step <= 1:
        return "every second"
    if step < 60:
        return f"{step}-second averages"
    if step < 3600:
        return f"{step // 60}-minute averages"
    return f"{step // 3600}-hour averages" if step < 86400 else f"{step // 86400}-day averages"


def build_report(camera, start: datetime, end: datetime, *, zone=None, max_rows: int = 500) -> ReportData:
    summary = presenters.metrics_summary(camera, start, end, zone=zone)
    rows = presenters.metrics_history(camera, start, end, zone=zone, max_points=max_rows)
    chart = rows
    if selectors.history_step(start, end, CHART_POINTS) != selectors.history_step(start, end, max_rows):
        chart = presenters.metrics_history(camera, start, end, zone=zone, max_points=CHART_POINTS)
    return ReportData(
        title=TITLE,
        camera_name=camera.name,
        location=camera.location,
        zone_name=zone.name if zone else "Whole view",
        start=start,
        end=end,
        generated=timezone.now(),
        time_zone=timezone.get_current_timezone_name(),
        step_seconds=selectors.history_step(start, end, max(10, max_rows)),
        summary=summary,
        rows=rows,
        chart_points=chart,
    )
