from django.contrib import admin

from alerts.models import Alert, AlertEvent


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
