from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: Redis access, runtime settings, the system log, API and page helpers.

    It imports no other app of the project. The label stays "crowdsafe" (the models lived in
    the project package before): tables, migrations and admin URLs keep their names.
    """

    name = "core"
    label = "crowdsafe"
    verbose_name = "Platform"
