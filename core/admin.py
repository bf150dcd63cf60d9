from django import forms
from django.contrib import admin
from django.shortcuts import redirect

from core.models import RuntimeSettings, SystemLog
from core.runtime_settings import get_runtime_settings, update_runtime_settings


class RuntimeSettingsForm(forms.ModelForm):
    # Write-only: the stored token is never sent back to the browser.
    telegram_bot_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current token. Tick 'clear token' to remove it.",
    )
    clear_token = forms.BooleanField(required=False, label="Clear the stored token")

    class Meta:
        model = RuntimeSettings
        fields = [
            f.name for f in RuntimeSettings._meta.fields if f.editable and f.name not in ("id", "updated_by")
        ]

    def clean(self):
        data = super().clean()
        if data.get("clear_token"):
            data["telegram_bot_token"] = ""
        elif not data.get("telegram_bot_token"):
            data["telegram_bot_token"] = self.instance.telegram_bot_token
        self.instance.telegram_bot_token = data["telegram_bot_token"]
        return data


@admin.register(RuntimeSettings)
class RuntimeSettingsAdmin(admin.ModelAdmin):
    form = RuntimeSettingsForm
    readonly_fields = ("token_on_file", "updated_at", "updated_by")
    actions = None
    fieldsets = (
        ("Risk weights", {"fields": ("weight_density", "weight_surge", "weight_velocity",
                                     "boost_pressure", "boost_coherence")}),
        ("Thresholds", {"fields": ("density_caution", "density_warning", "density_critical",
                                   "risk_caution", "risk_warning", "risk_critical", "stagnant_speed",
                                   "surge_threshold", "surge_min_density", "pressure_radius_m")}),
        ("Alerts", {"fields": ("alerts_enabled", "alert_cooldown_s", "alert_debounce_s",
                               "all_clear_after_s")}),
        ("Telegram", {"fields": ("telegram_enabled", "token_on_file", "telegram_bot_token", "clear_token",
                                 "telegram_chat_ids")}),
        ("Detector", {"fields": ("detector_confidence", "detector_iou")}),
        ("Changed", {"fields": ("updated_at", "updated_by")}),
    )
    change_form_template = "admin/crowdsafe/runtimesettings/change_form.html"

    @admin.display(description="token on file")
    def token_on_file(self, obj: RuntimeSettings) -> str:
        return obj.masked_token or "none"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # A single row: go straight to it.
        return redirect("admin:crowdsafe_runtimesettings_change", get_runtime_settings().pk)

    def save_model(self, request, obj, form, change) -> None:
        # Through the service: validated again, the cache dropped, the change in the audit trail.
        data = form.cleaned_data
        changes = {name: data[name] for name in self.form._meta.fields if name in data}
        update_runtime_settings(changes, user=request.user)



@admin.register(SystemLog)
class SystemLogAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "level", "kind", "action", "actor", "object_label", "message")
    list_filter = ("kind", "level", "action")
    search_fields = ("message", "component", "object_label")
    readonly_fields = [f.name for f in SystemLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
