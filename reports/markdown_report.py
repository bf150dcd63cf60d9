"""Markdown report: the same title, metadata, summary, chart (inline PNG) and data table."""

from __future__ import annotations

import base64

from reports.chart import chart_png
from reports.data import TABLE_HEADERS, ReportData

_LEVEL_MARK = {"CRITICAL": "🔴", "WARNING": "🟠", "CAUTION": "🟡", "SAFE": "🟢"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(report: ReportData) -> str:
    lines = [f"# {report.title}", ""]
    lines += [f"- **{label}:** {_escape(value)}" for label, value in report.metadata]
    lines += ["", "## Summary", "", "| Figure | Value |", "|---|---|"]
    lines += [f"| {label} | {_escape(value)} |" for label, value in report.summary_rows]
    png = base64.b64encode(chart_png(report, dpi=80)).decode("ascii")
    lines += [
        "",
        "## Count, density and risk over the range",
        "",
        f"![chart](data:image/png;base64,{png})",
        "",
    ]
    lines += [
        "## Metrics data",
        "",
        "| " + " | ".join(TABLE_HEADERS) + " |",
        "|" + "---|" * len(TABLE_HEADERS),
    ]
    for row in report.rows:
        cells = list(report.table_cells(row))
        cells[-1] = f"{_LEVEL_MARK.get(cells[-1], '')} {cells[-1]}".strip()  # the row's tint
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    if not report.rows:
        lines.append("\nNo data in this range.")
    return "\n".join(lines) + "\n"
