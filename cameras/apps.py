from django.apps import AppConfig
from django.core import checks


class CamerasConfig(AppConfig):
    name = "cameras"

    def ready(self) -> None:
        # Models are loaded only now: the sinks modules import them.
        from cameras.runtime.camera_sinks import register_all
        from cameras.runtime.sinks import check_sinks

        register_all()
        checks.register(check_sinks)
