"""Forms of the platform pages: runtime settings (token write-only) and the log filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import fields_for_model

from core.models import RuntimeSettings

SETTINGS_GROUPS: dict[str, tuple[str, ...]] = {
    "Risk weights": (
        "weight_density", "weight_surge", "weight_velocity", "boost_pressure", "boost_coherence"
    ),
    "Density thresholds (people per m²)": ("density_caution", "density_warning", "density_critical"),
    "Risk score cut-offs (0..1)": ("risk_caution", "risk_warning", "risk_critical"),
    "Movement": ("stagnant_speed", "surge_threshold", "surge_min_density", "pressure_radius_m"),
    "Alerts": ("alerts_enabled", "alert_cooldown_s", "alert_debounce_s", "all_clear_after_s"),
    "Telegram": ("telegram_enabled", "telegram_chat_ids"),
    "Detector": ("detector_confidence", "detector_iou"),
}
EDITABLE = tuple(name for names in SETTINGS_GROUPS.values() for name in names)


class RuntimeSettingsForm(forms.Form):
    """Every runtime setting; the bot token is write-only (blank keeps the stored one)."""

    telegram_bot_token = forms.CharField(
        label="Telegram bot token",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only: leave empty to keep the stored token.",
    )
    clear_telegram_bot_token = forms.BooleanField(label="Remove the stored token", required=False)

    def __init__(self, *args: Any, current: RuntimeSettings, **kwargs: Any) -> None:
        initial = {name: getattr(current, name) for name in EDITABLE}
        super().__init__(*args, initial=initial, **kwargs)
        model_fields = fields_for_model(RuntimeSettings, fields=EDITABLE)
        for name in EDITABLE:
            self.fields[name] = model_fields[name]
        self.current = current
        token = self.fields["telegram_bot_token"]
        if current.masked_token:
            token.help_text = f"Stored token ends {current.masked_token}. {token.help_text}"

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        token_fields = [self["telegram_bot_token"], self["clear_telegram_bot_token"]]
        return [
            (title, [self[name] for name in names] + (token_fields if title == "Telegram" else []))
            for title, names in SETTINGS_GROUPS.items()
        ]

    def changes(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in EDITABLE}
        if self.cleaned_data.get("clear_telegram_bot_token"):
            data["telegram_bot_token"] = ""
        elif self.cleaned_data.get("telegram_bot_token"):
            data["telegram_bot_token"] = self.cleaned_data["telegram_bot_token"]
        return data
