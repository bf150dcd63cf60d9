"""Count quality in the exports: a CSV column, a table column and a summary line in reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from pypdf import PdfReader

from analytics.models import Metric
from tests.api.conftest import metric_value

pytestmark = pytest.mark.django_db
START = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)
RANGE = {"start": "2025-07-01T10:00:00Z", "end": "2025-07-01T10:10:00Z"}
LINE = "degraded 1 min 00 s (10.0 %), unreliable 0 min 30 s (5.0 %) of the period; counts up to ×2.00 too low"


@pytest.fixture
def seeded(camera):
    """10 minutes; seconds 100..159 degraded (blur), 200..229 unreliable (saturated, ×2)."""
    rows = []
    for s in range(600):
        q = {}
        if 100 <= s < 160:
            q = {"count_quality": "degraded", "quality_reasons": ["blur"]}
        elif 200 <= s < 230:
            q = {
                "count_quality": "unreliable",
                "quality_reasons": ["saturated", "overlap"],
                "undercount_factor": 2.0,
            }
        rows.append(
            Metric(
                camera=camera,
                timestamp=START + timedelta(seconds=s),
                pressure=0.0251,
                tiled=s >= 300,
                **metric_value(s),
                **q,
            )
        )
    Metric.objects.bulk_create(rows)
    return camera


def _export(api, camera, fmt: str, **extra) -> bytes:
    response = api.get(f"/api/metrics/{camera.pk}/export/", {"format": fmt, **RANGE, **extra})
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_csv_has_the_quality_of_every_second_and_pressure_in_s2(api_as, operator_user, seeded):
    rows = list(csv.reader(io.StringIO(_export(api_as(operator_user), seeded, "csv").decode("utf-8-sig"))))
    header = rows[0]
    assert header[-4:] == ["Count quality", "Quality reasons", "Undercount factor", "Tiled"]
    assert "Pressure (s⁻²)" in header
    at = {name: i for i, name in enumerate(header)}
    second = rows[1 + 210]
    assert (
        second[at["Count quality"]] == "unreliable" and second[at["Quality reasons"]] == "saturated overlap"
    )
    assert second[at["Undercount factor"]] == "2.0" and second[at["Tiled"]] == "False"
    assert second[at["Pressure (s⁻²)"]] == "0.0251"
    assert rows[1][at["Count quality"]] == "ok" and rows[1][at["Undercount factor"]] == ""
    assert sum(r[at["Count quality"]] == "degraded" for r in rows[1:]) == 60


def test_docx_pdf_and_markdown_say_how_much_of_the_period_was_degraded_or_unreliable(
    api_as, operator_user, seeded
):
    api = api_as(operator_user)
    document = Document(io.BytesIO(_export(api, seeded, "docx", max_rows=600)))
    summary, data = document.tables[0], document.tables[1]
    assert {r.cells[0].text: r.cells[1].text for r in summary.rows}["Count quality"] == LINE
    header = [c.text for c in data.rows[0].cells]
    assert header[-2:] == ["Count quality", "Risk level"]
    qualities = [r.cells[-2].text for r in data.rows[1:]]
    count = metric_value(210)["count"]
    assert qualities[210] == f"unreliable ≈{count * 2}" and qualities[0] == "ok"
    assert qualities.count("degraded") == 60

    pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(_export(api, seeded, "pdf"))).pages)
    assert "Count quality" in pdf and "unreliable 0 min 30 s (5.0 %)" in pdf

    md = _export(api, seeded, "md").decode()
    assert f"| Count quality | {LINE} |" in md


def test_a_clean_period_says_so(api_as, operator_user, camera):
    Metric.objects.bulk_create(
        [Metric(camera=camera, timestamp=START + timedelta(seconds=s), **metric_value(s)) for s in range(60)]
    )
    md = _export(api_as(operator_user), camera, "md").decode()
    assert "| Count quality | ok for the whole period |" in md
