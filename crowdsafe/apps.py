from django.apps import AppConfig


class CrowdsafeConfig(AppConfig):
    """The project package doubles as an app for platform-wide models (settings, logs)."""

    name = "crowdsafe"
    verbose_name = "Platform"
