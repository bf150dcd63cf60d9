"""Keep the metric partials of the last 31 days warm, so the first 30-day query is fast too.

Schedule (crowdsafe/celery.py beat): {"task": "reports.tasks.warm_metric_partials", "schedule": 600.0}.
Only hours not yet cached are read, so a run after the first costs a few milliseconds per camera.
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
