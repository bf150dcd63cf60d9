from django.apps import AppConfig
from django.db.models.signals import post_delete


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Models are loaded only now: the sinks and the signal handler import them.
        from alerts.clips import EventClipSink
        from alerts.models import Alert
        from alerts.signals import delete_clip_with_alert
        from alerts.sinks import AlertSink
        from cameras.runtime import sinks

        sinks.register("alerts", AlertSink)
        sinks.register("event_clips", EventClipSink)
        post_delete.connect(delete_clip_with_alert, sender=Alert, dispatch_uid="alerts.delete_clip")
