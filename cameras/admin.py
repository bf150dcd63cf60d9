from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cameras.models import Camera, CountingLine, ExclusionArea, Recording, Zone
from cameras.services import delete_camera, delete_camera_part, save_camera_part, start_camera, stop_camera
from cameras.sources import mask_source, validate_source
from core import audit


def _masked(source: str) -> str:

    return mask_source(source)


class ZoneInline(admin.TabularInline):
    model = Zone
    extra = 0
    fields = ("name", "polygon", "area_m2", "capacity", "density_warning", "density_critical")


class CountingLineInline(admin.TabularInline):
    model = CountingLine
    extra = 0
    fields = ("name", "points", "in_side")


class ExclusionAreaInline(admin.TabularInline):
    model = ExclusionArea
    extra = 0
    fields = ("name", "polygon")


class CameraAdminForm(forms.ModelForm):
    """The stored source's credentials are never sent to the browser: the field shows the
    masked URL, and submitting the mask (or nothing) keeps the stored source."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.source and "source" in self.fields:
            self.initial["source"] = _masked(self.instance.source)

    def clean(self):
        data = super().clean()
        source = data.get("source") or ""
        if self.instance.pk and source in ("", _masked(self.instance.source)):
            source = data["source"] = self.instance.source
        if source and data.get("source_type"):
            try:
                data["source"] = validate_source(data["source_type"], source)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    form = CameraAdminForm
    list_display = ("name", "location", "source_type", "masked_source", "desired_state", "status",
                    "last_seen_at", "is_active")
    list_filter = ("status", "desired_state", "source_type", "is_active")
    search_fields = ("name", "location")
    readonly_fields = ("status", "status_detail", "last_seen_at", "homography", "reprojection_error_m",
                       "created_at", "updated_at")
    inlines = [ZoneInline, CountingLineInline, ExclusionAreaInline]
    actions = ["start_cameras", "stop_cameras"]

    @admin.display(description="source")
    def masked_source(self, camera: Camera) -> str:
        return _masked(camera.source)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            audit.record(audit.Action.CAMERA_CREATE, actor=request.user, obj=obj, camera_id=obj.pk)
        elif form.changed_data:
            audit.record(audit.Action.CAMERA_UPDATE, actor=request.user, obj=obj, camera_id=obj.pk,
                         fields=sorted(form.changed_data))

    def save_formset(self, request, form, formset, change) -> None:
        """Zones and lines go through the services, so each change is in the audit trail."""
        for part in formset.save(commit=False):
            changed = next((f.changed_data for f in formset.forms if f.instance is part), [])
            save_camera_part(part, user=request.user, fields=changed)
        for part in formset.deleted_objects:
            delete_camera_part(part, user=request.user)

    def delete_model(self, request, obj) -> None:
        delete_camera(obj, user=request.user)  # stops the runner, removes recordings and files

    def delete_queryset(self, request, queryset) -> None:
        for camera in queryset:
            self.delete_model(request, camera)

    @admin.action(description="Start the selected cameras")
    def start_cameras(self, request, queryset) -> None:
        for camera in queryset:
            try:
                started = start_camera(camera, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{camera}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{camera}: {'started' if started else 'already running'}.")

    @admin.action(description="Stop the selected cameras")
    def stop_cameras(self, request, queryset) -> None:
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
