from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        # Models are loaded only now: the sink imports them.
        from analytics.sinks import MetricsSink
        from cameras.runtime import sinks
        sinks.register("metrics", MetricsSink)
