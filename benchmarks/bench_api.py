"""Benchmark of the metrics API on 30 days of 1 Hz data (about 2.6 million rows) in PostgreSQL.

    .venv/bin/python benchmarks/bench_api.py [--reseed] [--days 30]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cs_bench_api)
and Redis DB (BENCH_REDIS_URL, default redis://127.0.0.1:6379/14), seeds it with COPY once,
then times through the real API views (JWT auth, serializers, JSON):

- GET /api/metrics/<id>/aggregate/?interval=hourly over 30 days   (target <= 300 ms)
- GET /api/metrics/<id>/history/?preset=24h                        (target <= 300 ms)
- GET /api/metrics/<id>/summary/ over 30 days                      (target <= 300 ms)
- GET /api/metrics/<id>/export/?format=pdf over 30 days            (target < 5 s, bounded memory)

"Cold" is the first call with no stored hourly rollups (as right after a bulk import: it reads
every row); "warm" is the median of the following calls, once the beat task
(`analytics.tasks.seal_metric_hours`) has stored the rollups. Prints the figures and writes
benchmarks/results/api.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_bench_api")
os.environ["DATABASE_URL"] = DB_URL
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdsafe.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("CROWDSAFE_ENV_FILE", "/nonexistent")

TARGET_MS = 300
TARGET_PDF_S = 5
CAMERA_NAME = "Bench gate A"


def _ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _seed(days: int, reseed: bool):
    from django.db import connection

    from analytics.models import Metric
    from cameras.models import Camera

    camera = Camera.objects.filter(name=CAMERA_NAME).first()
    expected = days * 86400
    if camera and not reseed and Metric.objects.filter(camera=camera).count() >= expected:
        return camera, False
    if camera:
        camera.delete()
    camera = Camera.objects.create(name=CAMERA_NAME, location="benchmark", area_m2=200.0, capacity=800)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    levels = ("SAFE", "CAUTION", "WARNING", "CRITICAL")
    columns = (
        "camera_id, zone_id, timestamp, frames, count, count_max, density, avg_speed, max_speed, surge, "
        "flow_in, flow_out, risk_score, risk_level, clusters, flow_coherence, pressure, anomalies, "
        "density_trend, risk_trend, calibrated, count_quality, quality_reasons, tiled"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor().copy(f"COPY analytics_metric ({columns}) FROM STDIN") as copy:
            for i in range(expected):
                ts = start + timedelta(seconds=i)
                # A daily rhythm with a busy evening, so peaks and levels vary.
                phase = (i % 86400) / 86400
                count = int(40 + 160 * max(0.0, 1 - abs(phase - 0.8) * 4) + (i * 7919) % 13)
                density = count / 200.0
                risk = min(1.0, density / 1.2)
                level = levels[min(3, int(risk * 4))]
                copy.write_row(
                    (
                        camera.pk,
                        None,
                        ts,
                        10,
                        count,
                        count + 3,
                        density,
                        0.8,
                        1.9,
                        0.1,
                        0,
                        0,
                        risk,
                        level,
                        2,
                        0.5,
                        0.2,
                        0,
                        "stable",
                        "stable",
                        False,
                        "ok",
                        "[]",
                        False,
                    )
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_metric")
    print(f"seeded {expected:,} rows in {time.perf_counter() - started:.1f} s")
    return camera, True


def _drop_rollups() -> None:
    """As right after a bulk import: no stored hourly rollups yet."""
    from analytics.models import MetricHour

    MetricHour.objects.all().delete()


def _seal_rollups() -> None:
    """What the beat task does between requests: store the sealed hours (reads never do)."""
    from analytics.services import seal_metric_hours

    seal_metric_hours(days=40)  # more than the seeded range (30 days by default)


def _time(api, url: str, runs: int = 5) -> dict:
    _drop_rollups()
    started = time.perf_counter()
    response = api.get(url)
    cold = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    _seal_rollups()
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        response = api.get(url)
        warm.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    body = response.json()
    size = (
        len(body)
        if isinstance(body, list)
        else len(body.get("results", body))
        if isinstance(body, dict)
        else 0
    )
    return {"cold_ms": round(cold, 1), "warm_ms": round(statistics.median(warm), 1), "items": size}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()

    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from accounts.roles import Role

    camera, seeded = _seed(args.days, args.reseed)
    user, _ = User.objects.get_or_create(username="bench_operator", defaults={"role": Role.OPERATOR})
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    rng = f"start={start.strftime('%Y-%m-%dT%H:%M:%SZ')}&end={end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    base = f"/api/metrics/{camera.pk}"
    results = {
        "aggregate_hourly_30d": _time(api, f"{base}/aggregate/?interval=hourly&{rng}"),
        "history_24h": _time(api, f"{base}/history/?preset=24h"),
        "summary_30d": _time(api, f"{base}/summary/?{rng}"),
    }
    import logging

    logging.getLogger("fontTools").setLevel(logging.WARNING)
    url = f"{base}/export/?format=pdf&{rng}"
    for label in ("cold", "warm"):
        if label == "cold":
            _drop_rollups()
        else:
            _seal_rollups()
        started = time.perf_counter()
        response = api.get(url)
        elapsed = time.perf_counter() - started
        pdf = response.content
        assert response.status_code == 200 and pdf.startswith(b"%PDF"), response.status_code
        from pypdf import PdfReader

        results[f"export_pdf_30d_{label}"] = {
            "seconds": round(elapsed, 2),
            "bytes": len(pdf),
            "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        }
    # Memory in a separate run: tracemalloc slows Python down several times.
    _drop_rollups()
    tracemalloc.start()
    api.get(url)
    results["export_pdf_30d_cold"]["python_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    ok = all(v["warm_ms"] <= TARGET_MS for k, v in results.items() if "warm_ms" in v) and all(
        v["seconds"] < TARGET_PDF_S for k, v in results.items() if "seconds" in v
    )
    from analytics.models import Metric

    report = {
        "rows": Metric.objects.filter(camera=camera).count(),
        "days": args.days,
        "database": "postgresql",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": {"query_ms": TARGET_MS, "pdf_s": TARGET_PDF_S},
        "results": results,
        "all_within_targets": ok,
    }
    out = ROOT / "benchmarks" / "results" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
