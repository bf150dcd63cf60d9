"""Platform housekeeping tasks (default queue)."""

from __future__ import annotations

from celery import shared_task

from crowdsafe.retention import purge_old_data as _purge_old_data


@shared_task(name="crowdsafe.tasks.purge_old_data")
def purge_old_data() -> dict[str, int]:
    return _purge_old_data()
