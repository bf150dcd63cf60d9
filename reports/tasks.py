"""Store the hourly rollups of the last 31 days ahead of requests (beat, every 10 minutes).

Only hours not yet stored are read, so a run after the first costs a few milliseconds per camera;
after a bulk import of metrics, the first run does the long read instead of a user's request.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="reports.tasks.warm_metric_partials", ignore_result=True)
def warm_metric_partials(days: int = 31) -> int:
    from analytics.selectors import metric_partials
    from cameras.models import Camera

    end = timezone.now()
    start = end - timedelta(days=days)
    warmed = 0
    for camera in Camera.objects.filter(is_active=True).prefetch_related("zones"):
        for zone in [None, *camera.zones.all()]:
            metric_partials(camera, start, end, zone=zone)
            warmed += 1
    return warmed
