from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cameras.models import Camera, CountingLine, Recording, Zone


def _masked(source: str) -> str:
    from cameras.sources import mask_source

    return mask_source(source)


class ZoneInline(admin.TabularInline):
    model = Zone
    extra = 0
    fields = ("name", "polygon", "area_m2", "capacity", "density_warning", "density_critical")


class CountingLineInline(admin.TabularInline):
    model = CountingLine
    extra = 0
    fields = ("name", "points", "in_side")


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "source_type", "masked_source", "desired_state", "status",
                    "last_seen_at", "is_active")
    list_filter = ("status", "desired_state", "source_type", "is_active")
    search_fields = ("name", "location")
    readonly_fields = ("status", "status_detail", "last_seen_at", "homography", "reprojection_error_m",
                       "created_at", "updated_at")
    inlines = [ZoneInline, CountingLineInline]
    actions = ["start_cameras", "stop_cameras"]

    @admin.display(description="source")
    def masked_source(self, camera: Camera) -> str:
        return _masked(camera.source)

    @admin.action(description="Start the selected cameras")
    def start_cameras(self, request, queryset) -> None:
        from cameras.services import start_camera

        for camera in queryset:
            try:
                started = start_camera(camera, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{camera}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{camera}: {'started' if started else 'already running'}.")

    @admin.action(description="Stop the selected cameras")
    def stop_cameras(self, request, queryset) -> None:
        from cameras.services import stop_camera

        for camera in queryset:
            stop_camera(camera, user=request.user)
        self.message_user(request, f"Asked {queryset.count()} camera(s) to stop.")


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("camera", "kind", "started_at", "duration_s", "frames", "size_bytes", "codec")
    list_filter = ("kind", "camera")
    readonly_fields = [f.name for f in Recording._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
