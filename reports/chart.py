"""The report chart: count, density and risk over the range (matplotlib, Agg, PNG bytes)."""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib
from django.utils import timezone

matplotlib.use("Agg")  # no display; must precede pyplot

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analytics import selectors  # noqa: E402
from analytics.gaps import runs  # noqa: E402
from reports.data import CHART_POINTS, ReportData  # noqa: E402


def chart_png(report: ReportData, *, width_in: float = 9.0, height_in: float = 5.2, dpi: int = 110) -> bytes:
    figure = chart_figure(report, width_in=width_in, height_in=height_in, dpi=dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_step(report: ReportData) -> int:
    """The bucket size (s) of the chart's points (as build_report reads them)."""
    return selectors.history_step(report.start, report.end, CHART_POINTS)


def chart_figure(
    report: ReportData, *, width_in: float = 9.0, height_in: float = 5.2, dpi: int = 110
) -> Figure:
    """Three panels; each series is drawn as one line per unbroken run of data (a gap of more
    than two buckets ends a line: nothing is drawn across a period without data)."""
    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    axes = figure.subplots(3, 1, sharex=True)
    tz = timezone.get_current_timezone()
    times = [datetime.fromisoformat(p["timestamp"]) for p in report.chart_points]
    stretches = runs(times, chart_step(report))
    series = (
        (
            "People (avg / peak)",
            [p["count"] for p in report.chart_points],
            [p["count_max"] for p in report.chart_points],
            "#1f77b4",
        ),
        ("Density (p/m²)", [p["density"] for p in report.chart_points], None, "#ff7f0e"),
        (
            "Risk (%)",
            [p["risk_score"] * 100 for p in report.chart_points],
            [p["risk_max"] * 100 for p in report.chart_points],
            "#d62728",
        ),
    )
    for ax, (label, values, peaks, colour) in zip(axes, series, strict=True):
        if times:
            for run in stretches:
                xs, ys = times[run.start:run.stop], values[run.start:run.stop]
                ax.plot(xs, ys, color=colour, linewidth=1.0, marker="." if len(run) == 1 else None)
                if peaks is not None:
                    ax.fill_between(xs, ys, peaks[run.start:run.stop], color=colour, alpha=0.15, linewidth=0)
        else:
            ax.text(0.5, 0.5, "no data in this range", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel(label, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    axes[2].set_ylim(0, 100)
    locator = mdates.AutoDateLocator(tz=tz)
    axes[2].xaxis.set_major_locator(locator)
    axes[2].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    figure.suptitle(f"{report.camera_name} / {report.zone_name}", fontsize=9)
    figure.tight_layout()
    return figure
