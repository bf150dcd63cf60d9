"""The PDF report's chart draws no line across a period without data (issue #14 item 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matplotlib import dates as mdates

from analytics.gaps import gap_starts, runs
from reports.chart import chart_figure, chart_png
from reports.data import ReportData

START = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)


def _point(at: datetime, count: float) -> dict:
    return {"timestamp": at.isoformat(), "count": count, "count_max": count + 1, "density": count / 50,
            "risk_score": 0.1, "risk_max": 0.2}


def _report(times: list[datetime]) -> ReportData:
    return ReportData(
        title="t", camera_name="Gate", location="", zone_name="Whole view", start=START,
        end=START + timedelta(minutes=15), generated=START, time_zone="UTC", step_seconds=1,
        summary={"total_records": len(times)}, rows=[],
        chart_points=[_point(at, 10 + i % 3) for i, at in enumerate(times)],
    )


def test_the_pdf_chart_splits_a_series_at_a_gap():
    """60 s of 1 s rows, 10 minutes of nothing, 60 s again: every panel draws two lines and
    none spans the empty 10 minutes."""
    first = [START + timedelta(seconds=s) for s in range(60)]
    second = [START + timedelta(minutes=11, seconds=s) for s in range(60)]
    figure = chart_figure(_report(first + second))
    gap = (mdates.date2num(first[-1]), mdates.date2num(second[0]))
    for ax in figure.axes:
        lines = ax.get_lines()
        assert len(lines) == 2
        for line in lines:
            xs = mdates.date2num(line.get_xdata())
            assert xs.max() <= gap[0] or xs.min() >= gap[1]  # nothing drawn across the gap
        assert sorted(len(line.get_xdata()) for line in lines) == [60, 60]
    assert chart_png(_report(first + second)).startswith(b"\x89PNG")


def test_data_without_a_gap_stays_one_line():
    figure = chart_figure(_report([START + timedelta(seconds=s) for s in range(120)]))
    assert [len(ax.get_lines()) for ax in figure.axes] == [1, 1, 1]


def test_gaps_are_over_two_buckets():
    t = [START + timedelta(seconds=s) for s in (0, 10, 20, 40, 71, 80)]
    assert gap_starts(t, 10) == [4]  # 20 s apart is 2 buckets (no gap); 31 s is over 2
    assert [list(r) for r in runs(t, 10)] == [[0, 1, 2, 3], [4, 5]]
    # Rows stored more sparsely than the buckets (one a minute in 10 s buckets) are no gap.
    assert gap_starts([START + timedelta(minutes=m) for m in range(5)], 10) == []
