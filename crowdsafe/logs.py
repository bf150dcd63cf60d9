"""The system log's filters, shared by the Logs page and GET /api/system/logs/.

Kind (platform warnings or one audit group), action, camera (entries on the camera itself
and on its zones, lines, alerts and connection), user (the actor), level, component, message
text and a time range. A camera or user id that no longer exists still filters (the trail
of a deleted camera stays readable).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django_filters import rest_framework as filters

from cameras.models import Camera
from core.api.filters import DateTimeFilter
from core.audit import Action
from core.models import SystemLog

AUDIT = "audit"
_LEVELS = [level for level, _ in SystemLog.Level.choices]


def system_log():
    return SystemLog.objects.select_related("actor").order_by("-timestamp", "-id")


class SystemLogFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(
        choices=[(AUDIT, "All audit entries"), *SystemLog.Kind.choices],
        method="filter_kind",
        empty_label="All kinds",
        help_text='"platform" for warnings and errors, "audit" for every audit entry, or one audit group.',
    )
    action = filters.ChoiceFilter(choices=Action.choices, empty_label="All actions")
    camera = filters.NumberFilter(
        method="filter_camera", min_value=1, help_text="Entries on this camera and its zones, lines, alerts."
    )
    user = filters.NumberFilter(field_name="actor", min_value=1, help_text="The user who acted (id).")
    level = filters.MultipleChoiceFilter(choices=SystemLog.Level.choices, help_text="Exact level(s).")
    min_level = filters.ChoiceFilter(
        choices=SystemLog.Level.choices, method="filter_min_level", help_text="This level and above."
    )
    component = filters.CharFilter(lookup_expr="istartswith", max_length=100)
    search = filters.CharFilter(
        label="Message contains", method="filter_search", max_length=200,
        help_text="In the message or the object's label.",
    )
    start = DateTimeFilter(field_name="timestamp", lookup_expr="gte", label="From")
    end = DateTimeFilter(field_name="timestamp", lookup_expr="lt", label="To")

    class Meta:
        model = SystemLog
        fields = ["kind", "action", "camera", "user", "level", "component", "start", "end"]

    def filter_kind(self, qs, name, value):
        if value == AUDIT:
            return qs.exclude(kind=SystemLog.Kind.PLATFORM)
        return qs.filter(kind=value)

    def filter_camera(self, qs, name, value):
        camera_id = int(value)
        return qs.filter(
            Q(object_type="camera", object_id=str(camera_id)) | Q(details__camera_id=camera_id)
        )

    def filter_min_level(self, qs, name, value):
        return qs.filter(level__in=_LEVELS[_LEVELS.index(value) :])

    def filter_search(self, qs, name, value):
        return qs.filter(Q(message__icontains=value) | Q(object_label__icontains=value))


def page_filter(data) -> SystemLogFilter:
    """The filter set for the Logs page: cameras and users offered by name, times as local inputs."""
    logs = SystemLogFilter(data or None, queryset=system_log())
    fields = logs.form.fields
    cameras = Camera.objects.order_by("name").values_list("pk", "name")
    users = get_user_model().objects.order_by("username").values_list("pk", "username")
    fields["camera"].widget = forms.Select(choices=[("", "All cameras"), *cameras])
    fields["user"].widget = forms.Select(choices=[("", "All users"), *users])
    for name in ("start", "end"):
        fields[name].widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
        fields[name].help_text = "UTC"
    return logs
