"""The analytics page's query: camera, zone, a preset or a custom range, and the bucket.

A valid form holds everything the selectors take: `cleaned_data["camera"]`, `["zone"]` and
the resolved UTC range in `["range_start"]` / `["range_end"]`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from analytics.ranges import resolve_range
from cameras.models import Camera, Zone
from core.inputs import parse_id

PRESET_CHOICES = [("1h", "1H"), ("24h", "24H"), ("7d", "7D"), ("30d", "30D"), ("custom", "Custom")]
BUCKET_CHOICES = [("auto", "Automatic"), ("hourly", "Hourly"), ("daily", "Daily"), ("weekly", "Weekly")]
EXPORT_FORMATS = {"csv": "CSV", "docx": "DOCX", "pdf": "PDF", "md": "Markdown"}


class AnalyticsForm(forms.Form):
    camera = forms.ModelChoiceField(queryset=Camera.objects.order_by("name"), empty_label=None)
    zone = forms.ModelChoiceField(queryset=Zone.objects.none(), required=False, empty_label="Whole camera")
    preset = forms.ChoiceField(choices=PRESET_CHOICES, required=False, initial="24h")
    start = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    end = forms.DateTimeField(
        label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    bucket = forms.ChoiceField(label="Buckets", choices=BUCKET_CHOICES, required=False, initial="auto")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The range's error when every field was fine but the range was not (the export
        # answers it as plain text).
        self.range_error: ValidationError | None = None
        camera_id = self.data.get("camera") or self.initial.get("camera")
        camera_id = getattr(camera_id, "pk", camera_id)
        camera_pk = parse_id(str(camera_id or ""))
        if camera_pk is not None:
            self.fields["zone"].queryset = Zone.objects.filter(camera_id=camera_pk)

    def clean(self) -> dict:
        data = super().clean()
        preset = data.get("preset") or ("custom" if data.get("start") or data.get("end") else "24h")
        data["preset"] = preset
        data["bucket"] = data.get("bucket") or "auto"
        if preset == "custom" and not data.get("start"):
            self.add_error("start", "Choose the start of the custom range.")
        if not self.errors:  # the range is checked once every field is valid
            try:
                data["range_start"], data["range_end"] = resolve_range(*self.range_args())
            except ValidationError as exc:
                self.range_error = exc
                self.add_error(None, exc)  # each message on its field (preset, start or end)
        return data

    def range_args(self) -> tuple[str | None, object, object]:
        """(preset, start, end) for analytics.ranges.resolve_range."""
        data = self.cleaned_data
        if data["preset"] != "custom":
            return data["preset"], None, None
        return None, data.get("start"), data.get("end")


def form_for_request(request: HttpRequest) -> AnalyticsForm | None:
    """The analytics form bound to the query, defaulting to the first camera and the last 24 h."""
    first = Camera.objects.order_by("name").first()
    if first is None:
        return None
    data = request.GET.copy()
    data.setdefault("camera", str(first.pk))
    if "preset" not in data and not data.get("start"):
        data["preset"] = "24h"
    data.setdefault("bucket", "auto")
    return AnalyticsForm(data)
