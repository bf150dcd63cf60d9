"""Analytics housekeeping on the default queue (beat: crowdsafe.celery)."""

from __future__ import annotations

from celery import shared_task

from analytics import retention, services


@shared_task(name="analytics.tasks.seal_metric_hours", ignore_result=True)
def seal_metric_hours(days: int = 31) -> int:
    """Store the hourly rollups of the sealed hours of the last `days` days (see analytics.services)."""
    return services.seal_metric_hours(days=days)


@shared_task(name="analytics.tasks.purge_old_data")
def purge_old_data() -> dict[str, int]:
    """Delete metrics, hourly rollups and system log rows older than their retention."""
    return retention.purge_old_data()
