"""Metrics history / summary / aggregate / current: figures checked against the raw rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics import presenters, rollups, services
from analytics.models import Metric, MetricHour
from tests.api.conftest import metric_value

pytestmark = pytest.mark.django_db


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_history_returns_raw_rows_for_short_ranges(api_as, viewer_user, camera, seed, hour_ago):
    seed(camera, hour_ago, 300)
    response = api_as(viewer_user).get(
        f"/api/metrics/{camera.pk}/",
        {"start": _iso(hour_ago), "end": _iso(hour_ago + timedelta(seconds=300))},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["step_seconds"] == 1 and len(body["points"]) == 300
    first = body["points"][0]
    assert first["count"] == metric_value(0)["count"] and first["risk_level"] == metric_value(0)["risk_level"]
    assert datetime.fromisoformat(first["timestamp"]) == hour_ago


def test_history_downsamples_long_ranges_to_bounded_points(api_as, viewer_user, camera, seed, hour_ago):
    seed(camera, hour_ago, 3600)
    response = api_as(viewer_user).get(
        f"/api/metrics/{camera.pk}/history/", {"preset": "1h", "max_points": 100}
    )
    body = response.json()
    assert response.status_code == 200 and body["step_seconds"] == 60
    assert 59 <= len(body["points"]) <= 61
    # Each point is the mean and peak of its minute of raw rows.
    point = body["points"][10]
    start = datetime.fromisoformat(point["timestamp"])
    offset = int((start - hour_ago).total_seconds())
    values = [metric_value(s) for s in range(max(offset, 0), offset + 60)]
    assert point["samples"] == 60
    assert point["count"] == pytest.approx(sum(v["count"] for v in values) / 60, abs=0.01)
    assert point["count_max"] == max(max(v["count"], v["count_max"]) for v in values)
    assert point["risk_max"] == pytest.approx(max(v["risk_score"] for v in values), abs=0.001)
    assert point["risk_level"] == "CRITICAL"


def test_history_of_a_zone_only_has_that_zone(api_as, viewer_user, camera, zone, seed, hour_ago):
    seed(camera, hour_ago, 60)
    seed(camera, hour_ago, 30, zone=zone)
    api = api_as(viewer_user)
    whole = api.get(f"/api/metrics/{camera.pk}/", {"preset": "24h"}).json()
    assert sum(p["samples"] for p in whole["points"]) == 60
    body = api.get(f"/api/metrics/{camera.pk}/", {"preset": "24h", "zone": zone.pk}).json()
    assert body["zone_id"] == zone.pk and sum(p["samples"] for p in body["points"]) == 30


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"preset": "2h"}, "preset"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2025-13-01T00:00:00Z"}, "start"),
        ({"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "end"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "start"),
        ({"preset": "1h", "start": "2025-01-01T00:00:00Z"}, "preset"),
        ({"max_points": "0"}, "max_points"),
        ({"max_points": "many"}, "max_points"),
        ({"zone": "-1"}, "zone"),
        ({"zone": "999999"}, "zone"),
    ],
)
def test_bad_parameters_are_clear_400s(api_as, viewer_user, camera, params, field):
    response = api_as(viewer_user).get(f"/api/metrics/{camera.pk}/", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"] and body["detail"].startswith(field)


def test_a_zone_of_another_camera_is_refused(api_as, viewer_user, camera, zone):
    from cameras.models import Camera

    other = Camera.objects.create(name="Other")
    response = api_as(viewer_user).get(f"/api/metrics/{other.pk}/summary/", {"zone": zone.pk})
    assert response.status_code == 400 and "zone" in response.json()["errors"]


@pytest.mark.parametrize("suffix", ["", "history/", "current/", "summary/", "aggregate/", "export/"])
def test_unknown_camera_is_404(api_as, admin_user, suffix):
    for camera_id in (987654, 2**63 + 5):
        response = api_as(admin_user).get(f"/api/metrics/{camera_id}/{suffix}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_summary_matches_the_raw_rows(api_as, viewer_user, camera, seed, hour_ago):
    seed(camera, hour_ago, 1800)
    values = [metric_value(s) for s in range(1800)]
    body = (
        api_as(viewer_user)
        .get(
            f"/api/metrics/{camera.pk}/summary/",
            {"start": _iso(hour_ago), "end": _iso(hour_ago + timedelta(hours=1))},
        )
        .json()
    )
    assert body["total_records"] == 1800
    assert body["avg_count"] == pytest.approx(sum(v["count"] for v in values) / 1800, abs=0.01)
    assert body["peak_count"] == max(v["count_max"] for v in values)
    assert body["max_density"] == pytest.approx(max(v["density"] for v in values), abs=0.001)
    assert body["avg_risk"] == pytest.approx(sum(v["risk_score"] for v in values) / 1800, abs=0.001)
    assert body["flow_in_total"] == sum(v["flow_in"] for v in values)
    levels = defaultdict(int)
    for v in values:
        levels[v["risk_level"]] += 1
    assert body["seconds_by_level"] == {k: levels[k] for k in ("SAFE", "CAUTION", "WARNING", "CRITICAL")}
    assert body["max_risk_level"] == "CRITICAL"


def test_summary_of_an_empty_range(api_as, viewer_user, camera):
    body = api_as(viewer_user).get(f"/api/metrics/{camera.pk}/summary/", {"preset": "7d"}).json()
    assert body["total_records"] == 0 and body["max_risk_level"] is None and body["avg_count"] == 0


def _expected_buckets(start: datetime, seconds: int, step: int, tz, kind: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for s in range(0, seconds, step):
        local = (start + timedelta(seconds=s)).astimezone(tz)
        if kind == "hourly":
            key = local.replace(minute=0, second=0)
        else:
            key = local.replace(hour=0, minute=0, second=0)
            if kind == "weekly":
                key -= timedelta(days=key.weekday())
        bucket = out.setdefault(key.isoformat(), {"n": 0, "sum": 0, "max": 0})
        value = metric_value(s)
        bucket["n"] += 1
        bucket["sum"] += value["count"]
        bucket["max"] = max(bucket["max"], value["count_max"])
    return out


@pytest.mark.parametrize("kind", ["hourly", "daily", "weekly"])
def test_aggregate_buckets_are_in_the_display_time_zone(api_as, viewer_user, camera, seed, settings, kind):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30: hours and days do not line up with UTC
    tz = ZoneInfo("Asia/Kolkata")
    start = datetime(2025, 3, 1, 17, 10, tzinfo=UTC)  # 22:40 in Kolkata
    seconds = 9 * 86400 if kind == "weekly" else 2 * 86400
    step = 60 if kind != "hourly" else 20
    seed(camera, start, seconds, step=step)
    response = api_as(viewer_user).get(
        f"/api/metrics/{camera.pk}/aggregate/",
        {"interval": kind, "start": _iso(start), "end": _iso(start + timedelta(seconds=seconds))},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "Asia/Kolkata" and body["interval"] == kind
    expected = _expected_buckets(start, seconds, step, tz, kind)
    got = {b["bucket"]: b for b in body["buckets"]}
    assert list(got) == sorted(expected)
    for key, exp in expected.items():
        assert got[key]["sample_count"] == exp["n"]
        assert got[key]["avg_count"] == pytest.approx(exp["sum"] / exp["n"], abs=0.01)
        assert got[key]["max_count"] == exp["max"]
    if kind == "daily":
        assert next(iter(got)).endswith("T00:00:00+05:30")


def test_aggregate_rejects_unknown_intervals(api_as, viewer_user, camera):
    response = api_as(viewer_user).get(f"/api/metrics/{camera.pk}/aggregate/", {"interval": "monthly"})
    assert response.status_code == 400 and "interval" in response.json()["errors"]


def test_stored_hours_are_reused_and_dropped_after_a_late_write(camera, seed):
    """Sealed hours come from the stored rollups; a row written later into one is never missed."""
    start = datetime(2025, 5, 1, tzinfo=UTC)
    end = start + timedelta(days=3)
    seed(camera, start, 3 * 86400, step=30)
    first = presenters.metrics_summary(camera, start, end)
    assert first["total_records"] == 3 * 2880
    assert not MetricHour.objects.exists()  # reading stores nothing: the sealing task does
    assert services.seal_hours(camera.pk, None, start, end) == 72
    assert MetricHour.objects.filter(camera=camera, zone_key=0).count() == 72
    # Rows changed behind the rollups' back do not change the answer: it came from the rollups.
    Metric.objects.filter(
        camera=camera, timestamp__gte=start + timedelta(hours=5), timestamp__lt=start + timedelta(hours=6)
    ).update(count=0)
    again = presenters.metrics_summary(camera, start, end)
    assert again == first
    # A late write into the middle day (e.g. a slowly analysed file) changes the answer:
    # writers of rows tell the rollups, as the metrics writer does.
    late_row = Metric.objects.create(
        camera=camera, timestamp=start + timedelta(days=1, seconds=7), count=500, count_max=500
    )
    assert rollups.rows_written([late_row]) == 1
    late = presenters.metrics_summary(camera, start, end)
    assert late["total_records"] == first["total_records"] + 1
    assert late["peak_count"] == 500


def test_a_row_written_while_hours_are_computed_drops_them(camera, seed):
    """The race: a writer's row lands between the read of an hour and its storing."""
    start = datetime(2025, 5, 10, tzinfo=UTC)
    seed(camera, start, 3 * 3600, step=60)
    newest = rollups.newest_row_id()
    assert services.seal_hours(camera.pk, None, start, start + timedelta(hours=3)) == 3
    assert MetricHour.objects.filter(camera=camera, zone_key=0).count() == 3
    # A row that came in during the read, whose writer found nothing stored to drop yet.
    late = start + timedelta(hours=1, minutes=5, seconds=30)  # between seeded rows: one per second
    Metric.objects.create(camera=camera, timestamp=late, count=500, count_max=500)
    assert rollups.drop_written_since(camera.pk, None, newest) == 1
    assert rollups.drop_written_since(camera.pk, None, rollups.newest_row_id()) == 0
    hours = MetricHour.objects.filter(camera=camera, zone_key=0).values_list("hour", flat=True)
    assert sorted(hours) == [start, start + timedelta(hours=2)]
    assert presenters.metrics_summary(camera, start, start + timedelta(hours=3))["peak_count"] == 500


def test_cached_and_uncached_answers_agree(camera, seed):
    start = datetime(2025, 6, 1, 3, 7, 11, tzinfo=UTC)
    end = start + timedelta(days=2, hours=5, minutes=3)
    seed(camera, start - timedelta(hours=1), int((end - start).total_seconds()) + 7200, step=45)
    rows = list(Metric.objects.filter(camera=camera, timestamp__gte=start, timestamp__lt=end))
    for sealed in (False, True):  # from the rows, then from the stored hours
        if sealed:
            assert services.seal_hours(camera.pk, None, start, end) == 52  # 04:00 on day 1 to 08:00 on day 3
        summary = presenters.metrics_summary(camera, start, end)
        assert summary["total_records"] == len(rows)
        assert summary["avg_count"] == pytest.approx(sum(r.count for r in rows) / len(rows), abs=0.01)
        hourly = presenters.metrics_aggregate(camera, start, end, bucket="hourly")
        assert sum(b["sample_count"] for b in hourly) == len(rows)


def test_current_prefers_live_then_stored(api_as, viewer_user, camera, seed, hour_ago):
    api = api_as(viewer_user)
    assert api.get(f"/api/metrics/{camera.pk}/current/").json() == {}
    seed(camera, hour_ago, 5)
    stored = api.get(f"/api/metrics/{camera.pk}/current/").json()
    assert stored["source"] == "stored" and stored["count"] == metric_value(4)["count"]
    from cameras.live import clear_live_state, store_metrics

    store_metrics(camera.pk, {"camera_id": camera.pk, "count": 42, "risk_level": "WARNING"})
    try:
        live = api.get(f"/api/metrics/{camera.pk}/current/").json()
        assert live["source"] == "live" and live["count"] == 42
        assert api.get(f"/api/cameras/{camera.pk}/current/").json()["count"] == 42
    finally:
        clear_live_state(camera.pk)
