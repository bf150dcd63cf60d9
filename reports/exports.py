"""One entry point for metric exports: the HTTP response for a camera, range and format."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from reports.csv_report import iter_csv
from reports.data import build_report

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
}


def export_filename(camera, fmt: str, zone=None) -> str:
    """crowdsafe_<camera>[_<zone>]_<YYYYmmdd_HHMMSS>.<ext>, safe for any camera name."""
    name = slugify(camera.name)[:60] or f"camera-{camera.pk}"
    if zone is not None:
        name += "_" + (slugify(zone.name)[:40] or f"zone-{zone.pk}")
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
    return f"crowdsafe_{name}_{stamp}.{fmt}"


def render_export(camera, start, end, *, fmt: str, zone=None, max_rows: int = 500) -> bytes:
    """The bytes of a DOCX, PDF or Markdown report (CSV is streamed, see export_response)."""
    report = build_report(camera, start, end, zone=zone, max_rows=max_rows)
    # The renderers load matplotlib (the chart), python-docx and fpdf2 (~80 MB): at the first
    # such export only, not in every process that loads the URLs (web and camera workers).
    if fmt == "docx":
        from reports.docx_report import render_docx

        return render_docx(report)
    if fmt == "pdf":
        from reports.pdf_report import render_pdf

        return render_pdf(report)
    if fmt == "md":
        from reports.markdown_report import render_markdown

        return render_markdown(report).encode("utf-8")
    raise ValueError(f"unknown export format {fmt!r}")


def export_response(camera, start, end, *, fmt: str, zone=None, max_rows: int = 500):
    filename = export_filename(camera, fmt, zone)
    if fmt == "csv":
        response = StreamingHttpResponse(
            iter_csv(camera, start, end, zone=zone), content_type=CONTENT_TYPES["csv"]
        )
    else:
        body = render_export(camera, start, end, fmt=fmt, zone=zone, max_rows=max_rows)
        response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
