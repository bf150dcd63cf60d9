"""Retention of time-series data and the system log (recording files: `cameras.recordings`)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from analytics.models import Metric, MetricHour
from core.models import SystemLog

_BATCH = 50_000


def _delete_before(queryset, field: str, days: int) -> int:
    """Delete rows older than `days` in batches, so a big backlog never locks for long."""
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        ids = list(queryset.filter(**{f"{field}__lt": cutoff}).values_list("pk", flat=True)[:_BATCH])
        if not ids:
            return total
        total += queryset.filter(pk__in=ids).delete()[0]


def purge_old_data() -> dict[str, int]:
    metrics_days = settings.CROWDSAFE_METRICS_RETENTION_DAYS
    logs_days = settings.CROWDSAFE_LOGS_RETENTION_DAYS
    return {
        "metrics": _delete_before(Metric.objects.all(), "timestamp", metrics_days),
        "metric_hours": _delete_before(MetricHour.objects.all(), "hour", metrics_days),
        "logs": _delete_before(SystemLog.objects.all(), "timestamp", logs_days),
    }
