from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    """The bottom layer: Redis access, runtime settings, the system log, API and page helpers.

    It imports no other app of the project. The label stays "crowdsafe" (the models lived in
    the project package before): tables, migrations and admin URLs keep their names.
    """

    name = "core"
    label = "crowdsafe"
    verbose_name = "Platform"

    def ready(self) -> None:
        from core.media import check_media_serving  # settings are read only now

        checks.register(check_media_serving, checks.Tags.security)
