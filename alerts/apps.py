from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Models are loaded only now: the sink imports them.
        from alerts.sinks import AlertSink
        from cameras.runtime import sinks
        sinks.register("alerts", AlertSink)
