"""An alert's clip goes with it (deleted alone, or with its camera), once the deletion commits."""

from __future__ import annotations

from django.db import transaction

from alerts.clip_store import delete_clip_file
from alerts.models import Alert


def delete_clip_with_alert(sender, instance: Alert, **kwargs) -> None:
    name = instance.clip.name
    if name:
        transaction.on_commit(lambda: delete_clip_file(name))
