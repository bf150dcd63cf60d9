"""DOCX report (python-docx): title, metadata, summary table, chart, tinted data table."""

from __future__ import annotations

import io

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from reports.chart import chart_png
from reports.data import LEVEL_COLOURS, TABLE_HEADERS, ReportData


def _shade(cell, rgb: tuple[int, int, int]) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), "{:02X}{:02X}{:02X}".format(*rgb))
    cell._tc.get_or_add_tcPr().append(shading)


def _small(cell, text: str, size: float = 8, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold


def render_docx(report: ReportData) -> bytes:
    document = Document()
    document.add_heading(report.title, level=0)
    for label, value in report.metadata:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)

    document.add_heading("Summary", level=1)
    summary = document.add_table(rows=0, cols=2)
    summary.style = "Light Grid Accent 1"
    for label, value in report.summary_rows:
        cells = summary.add_row().cells
        cells[0].text, cells[1].text = label, value

    document.add_heading("Count, density and risk over the range", level=1)
    document.add_picture(io.BytesIO(chart_png(report)), width=Inches(6.3))

    document.add_heading("Metrics data", level=1)
    table = document.add_table(rows=1, cols=len(TABLE_HEADERS))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, TABLE_HEADERS, strict=True):
        _small(cell, header, 8, bold=True)
        _shade(cell, (60, 60, 80))
        cell.paragraphs[0].runs[0].font.color.rgb = None
    for row in report.rows:
        cells = table.add_row().cells
        colour = LEVEL_COLOURS.get(row["risk_level"], LEVEL_COLOURS["SAFE"])
        for cell, text in zip(cells, report.table_cells(row), strict=True):
            _small(cell, text)
            if colour != LEVEL_COLOURS["SAFE"]:
                _shade(cell, colour)
    if not report.rows:
        document.add_paragraph("No data in this range.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
