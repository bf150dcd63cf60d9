"""Platform-wide models: the runtime settings admins change live, and the system log."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def _range(lo: float, hi: float) -> list:
    return [MinValueValidator(lo), MaxValueValidator(hi)]


def _above_zero(value: float) -> None:
    if not value > 0:
        raise ValidationError("Must be greater than 0.", code="min_value")


class RuntimeSettings(models.Model):
    """One row (pk=1) of settings read by the running code through a short cache.

    Read it with `core.runtime_settings.get_runtime_settings()`; write it with
    `update_runtime_settings()`, which validates and invalidates the cache.
    """

    # Risk weights (base score) and boosts; the three base weights must sum to 1.
    weight_density = models.FloatField(default=0.4, validators=_range(0, 1))
    weight_surge = models.FloatField(default=0.3, validators=_range(0, 1))
    weight_velocity = models.FloatField(
        "weight of stagnation (dense and slow)", default=0.3, validators=_range(0, 1)
    )
    boost_pressure = models.FloatField("pressure boost weight", default=0.6, validators=_range(0, 1))
    boost_coherence = models.FloatField("coherence boost weight", default=0.4, validators=_range(0, 1))

    # Density thresholds (people per m²): SAFE < caution <= CAUTION < warning <= ... critical.
    density_caution = models.FloatField(default=2.0, validators=_range(0.1, 20))
    density_warning = models.FloatField(default=4.0, validators=_range(0.1, 20))
    density_critical = models.FloatField(default=6.0, validators=_range(0.1, 20))

    # Risk score cut-offs (0..1).
    risk_caution = models.FloatField(default=0.25, validators=_range(0.01, 0.99))
    risk_warning = models.FloatField(default=0.50, validators=_range(0.01, 0.99))
    risk_critical = models.FloatField(default=0.75, validators=_range(0.01, 0.99))

    stagnant_speed = models.FloatField("stagnant below (m/s)", default=0.2, validators=_range(0, 3))
    surge_min_density = models.FloatField(
        "surge alerts from (people per m²)",
        default=0.5,
        validators=_range(0, 20),
        help_text="A surge in a sparse scene (Fruin walkway level A-C) endangers no one: no alert.",
    )
    surge_threshold = models.FloatField(
        "surge alert threshold (0..1)", default=0.6, validators=_range(0.05, 1)
    )
    pressure_radius_m = models.FloatField(
        "pressure neighbourhood radius (m)",
        default=1.0,
        validators=[_above_zero, MaxValueValidator(5)],
        help_text="Radius R of the Gaussian neighbourhood over which crowd pressure (local density × "
        "velocity variance, s⁻²) is measured (Helbing et al. 2007 use about 1 m).",
    )

    # Alerts.
    alerts_enabled = models.BooleanField(default=True)
    alert_cooldown_s = models.PositiveIntegerField(
        "cooldown (s)", default=60, validators=_range(5, 86400)
    )
    alert_debounce_s = models.FloatField(
        "condition must hold for (s of video)", default=2.0, validators=_range(0, 600)
    )
    all_clear_after_s = models.PositiveIntegerField(
        "all clear after SAFE for (s)", default=30, validators=_range(1, 86400)
    )

    # Telegram. The token is write-only everywhere: pages and APIs show only a mask.
    telegram_enabled = models.BooleanField(default=False)
    telegram_bot_token = models.CharField(max_length=200, blank=True)
    telegram_chat_ids = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated chat IDs, e.g. -1001234567890, 42"
    )

    # Detector (the model itself is a deployment setting, see CROWDSAFE_DETECTOR_MODEL).
    detector_confidence = models.FloatField(default=0.25, validators=_range(0.01, 0.99))
    detector_iou = models.FloatField(default=0.5, validators=_range(0.05, 0.95))

    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "runtime settings"
        verbose_name_plural = "runtime settings"

    def __str__(self) -> str:
        return "Runtime settings"

    def save(self, *args, **kwargs):
        self.pk = 1  # a single row
        super().save(*args, **kwargs)

    @property
    def chat_id_list(self) -> list[str]:
        return [c.strip() for c in self.telegram_chat_ids.split(",") if c.strip()]

    @property
    def masked_token(self) -> str:
        token = self.telegram_bot_token
        if not token:
            return ""
        return f"…{token[-4:]}" if len(token) > 8 else "…"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        total = self.weight_density + self.weight_surge + self.weight_velocity
        if abs(total - 1.0) > 0.001:
            errors["weight_velocity"] = (
                f"The three risk weights must add up to 1 (they add up to {total:.3f})."
            )
        if not self.density_caution < self.density_warning < self.density_critical:
            errors["density_critical"] = "Density thresholds must rise: caution < warning < critical."
        if not self.risk_caution < self.risk_warning < self.risk_critical:
            errors["risk_critical"] = "Risk cut-offs must rise: caution < warning < critical."
        for chat in self.chat_id_list:
            if not (chat.lstrip("-").isdigit() or (chat.startswith("@") and len(chat) > 1)):
                errors["telegram_chat_ids"] = f"'{chat}' is not a chat ID (a number or @channelname)."
                break
        if self.telegram_enabled and not (self.telegram_bot_token and self.chat_id_list):
            errors["telegram_enabled"] = "Telegram needs a bot token and at least one chat ID."
        if self.telegram_bot_token and ":" not in self.telegram_bot_token:
            errors["telegram_bot_token"] = "A bot token looks like 123456:ABC-DEF…"
        if errors:
            raise ValidationError(errors)


class SystemLog(models.Model):
    """The system log: platform warnings and errors (written by `core.logging.DatabaseLogHandler`)
    and the audit trail (written by `core.audit.record`): who did what to which object.

    Platform rows have kind "platform" and no action; audit rows name the action, the actor
    (none for the system) and the object (type, id and a readable label kept as it was then).
    """

    class Level(models.TextChoices):
        DEBUG = "DEBUG"
        INFO = "INFO"
        WARNING = "WARNING"
        ERROR = "ERROR"
        CRITICAL = "CRITICAL"

    class Kind(models.TextChoices):
        PLATFORM = "platform", "Platform warnings"
        AUTH = "auth", "Sign-ins"
        CAMERA = "camera", "Cameras"
        CONNECTION = "connection", "Camera connections"
        ZONE = "zone", "Zones and lines"
        SETTINGS = "settings", "Settings"
        ALERT = "alert", "Alerts"
        USER = "user", "Users"

    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    level = models.CharField(max_length=8, choices=Level.choices, db_index=True)
    component = models.CharField(max_length=100, db_index=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PLATFORM, db_index=True)
    action = models.CharField(max_length=40, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="systemlog_object")]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.level} {self.component}"
