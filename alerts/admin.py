from django.contrib import admin, messages

from alerts.models import Alert, AlertEvent
from alerts.telegram import send_test_message
from core.admin import RuntimeSettingsAdmin
from core.models import RuntimeSettings


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    readonly_fields = ("action", "user", "note", "at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "camera", "zone", "level", "trigger", "status", "notification_state")
    list_filter = ("level", "status", "trigger", "notification_state", "camera")
    search_fields = ("message", "camera__name")
    list_select_related = ("camera", "zone")
    readonly_fields = [
        f.name for f in Alert._meta.fields if f.name not in ("acknowledge_note", "resolve_note")
    ]
    inlines = [AlertEventInline]

    def has_add_permission(self, request) -> bool:
        return False


class RuntimeSettingsWithTelegramTest(RuntimeSettingsAdmin):
    """The settings page, plus the "send a test message" button of its Telegram section.

    Core registers the page and knows nothing of Telegram; alerts (a layer above) adds the
    button by registering this subclass in its place.
    """

    def response_change(self, request, obj):
        if "_send_test" in request.POST:
            result = send_test_message()
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"Telegram test: {result.detail}", level)
        return super().response_change(request, obj)


admin.site.unregister(RuntimeSettings)
admin.site.register(RuntimeSettings, RuntimeSettingsWithTelegramTest)
