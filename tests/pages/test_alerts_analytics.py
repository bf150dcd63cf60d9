"""Alerts page (filters, acknowledge/resolve with a note) and the analytics page and exports."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import AlertLevel, AlertStatus


def test_alerts_filter_and_default_unresolved(client_as, users, make_alert):
    make_alert(level=AlertLevel.CRITICAL, message="crit-one")
    make_alert(level=AlertLevel.WARNING, message="warn-one")
    make_alert(status=AlertStatus.RESOLVED, message="old-resolved")
    client = client_as(users["viewer"])
    page = client.get(reverse("alerts")).content.decode()
    assert "crit-one" in page and "warn-one" in page and "old-resolved" not in page
    crit = client.get(reverse("alerts"), {"level": "CRITICAL", "status": ""}).content.decode()
    assert "crit-one" in crit and "warn-one" not in crit
    every = client.get(reverse("alerts"), {"status": ""}).content.decode()
    assert "old-resolved" in every
    assert 'id="alert-badge"' in page and ">2<" in page  # two open alerts in the sidebar


def test_alerts_bad_filter_is_400(client_as, users):
    response = client_as(users["viewer"]).get(reverse("alerts"), {"level": "BOGUS"})
    assert response.status_code == 400 and b"errorlist" in response.content
    rng = client_as(users["viewer"]).get(
        reverse("alerts"), {"since": "2025-02-01T10:00", "until": "2025-01-01T10:00"}
    )
    assert rng.status_code == 400


def test_acknowledge_with_htmx_updates_table_and_badge(client_as, users, make_alert):
    alert = make_alert()
    make_alert(message="second")
    client = client_as(users["operator"])
    response = client.post(
        reverse("alert_acknowledge", args=[alert.pk]),
        {"note": "stewards sent"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/alerts/?status=",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="alert-badge" hx-swap-oob="true"' in html and 'data-count="1"' in html
    assert "stewards sent" in html
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == users["operator"]
    again = client.post(reverse("alert_acknowledge", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and 'role="alert"' in again.content.decode()


def test_resolve_without_htmx_redirects_with_message(client_as, users, make_alert):
    alert = make_alert()
    response = client_as(users["operator"]).post(
        reverse("alert_resolve", args=[alert.pk]), {"note": "cleared"}, follow=True
    )
    assert response.status_code == 200 and "Alert resolved" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolve_note == "cleared"


def test_analytics_page_summary_and_series(client_as, users, seeded_metrics):
    client = client_as(users["viewer"])
    response = client.get(reverse("analytics"), {"preset": "1h"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="analytics-data"' in html and 'id="chart-count"' in html
    assert response.context["summary"]["total_records"] == 60
    assert response.context["summary"]["peak_count"] == 120  # count_max of the newest row
    assert len(response.context["series"]["labels"]) == 60
    two = client.get(reverse("analytics"), {"preset": "24h"}).context["summary"]
    assert two["total_records"] == 120


def test_analytics_htmx_returns_results_block_and_buckets(client_as, users, seeded_metrics, camera):
    client = client_as(users["viewer"])
    response = client.get(
        reverse("analytics"),
        {"preset": "24h", "bucket": "hourly", "camera": camera.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="analytics-results",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith('<div id="analytics-results">')
    assert "<aside" not in html and "sidebar" not in html
    assert 2 <= len(response.context["series"]["labels"]) <= 3  # 2 h of data in hourly buckets


BAD_ANALYTICS = [
    {"preset": "2y"},
    {"preset": "custom"},
    {"bucket": "minutely"},
    {"preset": "custom", "start": "2025-01-02T00:00", "end": "2025-01-01T00:00"},
    {"camera": "999999"},
]


@pytest.mark.parametrize("params", BAD_ANALYTICS)
def test_analytics_bad_input_is_400(client_as, users, camera, params):
    response = client_as(users["viewer"]).get(reverse("analytics"), params)
    assert response.status_code == 400 and b"errorlist" in response.content


MAGIC = [("csv", b"Timestamp,"), ("docx", b"PK"), ("pdf", b"%PDF"), ("md", b"#")]


@pytest.mark.parametrize("fmt,magic", MAGIC)
def test_exports_download_files(client_as, users, seeded_metrics, fmt, magic):
    response = client_as(users["operator"]).get(reverse("analytics_export"), {"preset": "24h", "format": fmt})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(body) > 100 and magic in body[:200]
    assert "attachment;" in response["Content-Disposition"] and f".{fmt}" in response["Content-Disposition"]


def test_export_unknown_format_is_400(client_as, users, camera):
    response = client_as(users["operator"]).get(reverse("analytics_export"), {"format": "xls"})
    assert response.status_code == 400 and b"Unknown format" in response.content


def test_analytics_raw_table_loads_on_demand(client_as, users, seeded_metrics):
    client = client_as(users["viewer"])
    page = client.get(reverse("analytics"), {"preset": "24h"}).content.decode()
    assert 'id="raw-table"' in page and 'hx-trigger="toggle once from:#raw-data"' in page
    raw = client.get(reverse("analytics"), {"preset": "24h", "page": "2"},
                     HTTP_HX_REQUEST="true", HTTP_HX_TARGET="raw-table")
    html = raw.content.decode()
    assert raw.status_code == 200 and html.startswith('<div id="raw-table">')
    assert html.count("<tr>") == 1 + 50 and "Page 2 of 3" in html  # 120 rows, newest first
