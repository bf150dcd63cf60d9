"""Analytics housekeeping on the default queue (beat: crowdsafe.celery)."""

from __future__ import annotations

from celery import shared_task

from analytics import services


@shared_task(name="analytics.tasks.seal_metric_hours", ignore_result=True)
def seal_metric_hours(days: int = 31) -> int:
    """Store the hourly rollups of the sealed hours of the last `days` days (see analytics.services)."""
    return services.seal_metric_hours(days=days)
