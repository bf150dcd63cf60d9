from django.apps import AppConfig
from django.core import checks


class CamerasConfig(AppConfig):
    name = "cameras"

    def ready(self) -> None:
        # Models are loaded only now: the sinks module imports them.
        from cameras.sinks import check_sinks

        checks.register(check_sinks)
