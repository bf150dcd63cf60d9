"""PDF report (fpdf2, DejaVu Sans from matplotlib's data so any camera name prints)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import matplotlib
from fpdf import FPDF

from reports.chart import chart_png
from reports.data import LEVEL_COLOURS, TABLE_HEADERS, ReportData

_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# fontTools logs every glyph subset at INFO; that is noise in the platform log.
logging.getLogger("fontTools").setLevel(logging.WARNING)
WIDTHS = (38, 19, 13, 24, 20, 17, 27, 22)  # mm, 180 in all


class _Pdf(FPDF):
    def __init__(self, report: ReportData):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(120, 120, 120)
        self.cell(0, 5, f"{self.report.title} · {self.report.camera_name} · page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)

    def table_header(self) -> None:
        self.set_font("DejaVu", "B", 7.5)
        self.set_fill_color(60, 60, 80)
        self.set_text_color(255, 255, 255)
        for width, header in zip(WIDTHS, TABLE_HEADERS, strict=True):
            self.cell(width, 6, header, border=1, fill=True, align="C")
        self.ln()
        self.set_text_color(0, 0, 0)
        self.set_font("DejaVu", "", 7.5)


def render_pdf(report: ReportData) -> bytes:
    pdf = _Pdf(report)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for label, value in report.metadata:
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(32, 5, f"{label}:")
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")

    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, "Summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for label, value in report.summary_rows:
        pdf.cell(70, 5.5, label, border=1)
        pdf.cell(70, 5.5, value, border=1, new_x="LMARGIN", new_y="NEXT")

    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, "Count, density and risk over the range", new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(chart_png(report)), w=180)

    pdf.add_page()
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, "Metrics data", new_x="LMARGIN", new_y="NEXT")
    pdf.table_header()
    for row in report.rows:
        if pdf.will_page_break(5):
            pdf.add_page()
            pdf.table_header()
        pdf.set_fill_color(*LEVEL_COLOURS.get(row["risk_level"], LEVEL_COLOURS["SAFE"]))
        for width, text in zip(WIDTHS, report.table_cells(row), strict=True):
            pdf.cell(width, 5, text, border=1, fill=True, align="C")
        pdf.ln()
    if not report.rows:
        pdf.cell(0, 6, "No data in this range.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
