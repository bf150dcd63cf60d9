"""Exports opened with the readers a user would use: python-docx, pypdf, csv, Markdown text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from pypdf import PdfReader

from tests.api.conftest import metric_value

pytestmark = pytest.mark.django_db
START = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def seeded(camera, seed):
    seed(camera, START, 7200, step=2)  # two hours, a row every 2 s
    return camera


def _export(api, camera, fmt: str, **extra):
    params = {"format": fmt, "start": "2025-07-01T10:00:00Z", "end": "2025-07-01T12:00:00Z", **extra}
    response = api.get(f"/api/metrics/{camera.pk}/export/", params)
    assert response.status_code == 200, response.content[:300]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_csv_has_every_stored_row_in_the_display_zone(api_as, operator_user, seeded, settings):
    settings.TIME_ZONE = "Europe/London"
    response, body = _export(api_as(operator_user), seeded, "csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="crowdsafe_north-gate_')
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Timestamp", "Zone", "Count", "Peak count", "Density (p/m²)"]
    assert len(rows) == 1 + 3600
    assert rows[1][0] == "2025-07-01T11:00:00+01:00"  # BST
    assert int(rows[1][2]) == metric_value(0)["count"] and rows[1][9] == metric_value(0)["risk_level"]


def test_docx_report_content(api_as, operator_user, seeded):
    response, body = _export(api_as(operator_user), seeded, "docx", max_rows=50)
    assert response["Content-Type"].endswith("wordprocessingml.document")
    document = Document(io.BytesIO(body))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "CrowdSafe Analytics Report" in text
    assert "Camera: North Gate (Stadium north)" in text and "Zone: Whole view" in text
    assert "01 Jul 2025 10:00:00 to 01 Jul 2025 12:00:00 (UTC)" in text
    assert "3,600 seconds of data" in text
    summary, data = document.tables[0], document.tables[1]
    summary_cells = {row.cells[0].text: row.cells[1].text for row in summary.rows}
    values = [metric_value(s) for s in range(0, 7200, 2)]
    assert summary_cells["Peak count"] == str(max(v["count_max"] for v in values))
    assert summary_cells["Average count"] == f"{sum(v['count'] for v in values) / len(values):.1f}"
    assert [c.text for c in data.rows[0].cells][0] == "Time"
    assert 20 <= len(data.rows) - 1 <= 50  # bounded: 5-minute averages
    assert len(document.inline_shapes) == 1  # the chart
    # Rows are tinted by their risk level.
    critical = next(r for r in data.rows[1:] if r.cells[-1].text == "CRITICAL")
    assert 'w:fill="FFC8C8"' in critical.cells[0]._tc.xml


def test_pdf_report_content(api_as, operator_user, seeded):
    response, body = _export(api_as(operator_user), seeded, "pdf")
    assert response["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "CrowdSafe Analytics Report" in text and "North Gate" in text
    assert "Summary" in text and "Peak count" in text and "Metrics data" in text
    assert "01 Jul 2025 10:00:00" in text and "CRITICAL" in text
    assert len(reader.pages[0].images) == 1  # the chart


def test_markdown_report_content(api_as, operator_user, seeded, zone, seed):
    seed(seeded, START, 600, zone=zone)
    _, body = _export(api_as(operator_user), seeded, "md", zone=zone.pk)
    text = body.decode()
    assert text.startswith("# CrowdSafe Analytics Report")
    assert "- **Zone:** Turnstiles" in text and "600 seconds of data" in text
    assert "![chart](data:image/png;base64," in text
    assert (
        "| Time | Count (avg) | Peak | Density (p/m²) | Speed (m/s) | Risk (%) | Count quality | Risk level |"
        in text
    )


def test_unicode_camera_names_print(api_as, operator_user, camera, seed):
    camera.name = "Brama Żółć Ω | «Nord» =cmd"
    camera.save()
    seed(camera, START, 60)
    for fmt in ("pdf", "docx", "md"):
        response, body = _export(api_as(operator_user), camera, fmt)
        assert "Ż" not in response["Content-Disposition"]
    assert (
        "Brama Żółć Ω"
        in PdfReader(io.BytesIO(_export(api_as(operator_user), camera, "pdf")[1])).pages[0].extract_text()
    )


def test_empty_range_still_makes_a_report(api_as, operator_user, camera):
    _, body = _export(api_as(operator_user), camera, "pdf")
    assert "No data in this range." in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


@pytest.mark.parametrize("params", [{"format": "xlsx"}, {"format": "pdf", "max_rows": "5"}])
def test_bad_export_parameters(api_as, operator_user, camera, params):
    response = api_as(operator_user).get(f"/api/metrics/{camera.pk}/export/", params)
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_a_month_of_data_makes_a_bounded_report(camera, seed):
    """30 days at one row a minute: the table is averaged to at most max_rows rows."""
    from reports.data import build_report

    end = START + timedelta(days=30)
    seed(camera, START, 30 * 86400, step=60)
    report = build_report(camera, START, end, max_rows=500)
    assert len(report.rows) <= 500 and report.summary["total_records"] == 30 * 1440
    assert len(report.chart_points) <= 400
