"""Forms of the camera pages. Validation of the source itself is the camera services' job;
these forms check shapes and show the services' errors inline."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from cameras.models import Camera, CountingLine, ExclusionArea, SourceType, Zone
from cameras.sources import mask_source

CAMERA_FIELDS = (
    "name", "location", "source_type", "source", "area_m2", "capacity", "target_fps",
    "tiling_mode", "detector_imgsz",
)


class CameraForm(forms.ModelForm):
    """Add or edit a camera; the optional video goes through `save_upload` after the camera."""

    video = forms.FileField(
        label="Video file",
        required=False,
        help_text="For an uploaded-file camera: choose the video (it replaces the current one).",
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )

    class Meta:
        model = Camera
        fields = CAMERA_FIELDS
        widgets = {"source": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})}
        help_texts = {
            "source": "RTSP: rtsp://user:password@host:554/path · HTTP: https://host/stream.mjpg · "
            "USB: device index such as 0 · File: filled in by the upload.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].required = False
        self.fields["tiling_mode"].required = False  # a form without it keeps the camera's mode
        if self.instance.pk and self.instance.source:
            # Never echo stored credentials back into the page: show the mask, keep on blank/mask.
            self.initial["source"] = mask_source(self.instance.source)

    def _post_clean(self) -> None:
        # Model validation happens in the camera services (one place for the rules).
        pass

    def service_fields(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in CAMERA_FIELDS}
        data["tiling_mode"] = data["tiling_mode"] or self.instance.tiling_mode
        source = data["source"] or ""
        if self.instance.pk:
            unchanged_type = data["source_type"] == self.instance.source_type
            if unchanged_type and source in ("", mask_source(self.instance.source)):
                data["source"] = self.instance.source
        if data["source_type"] == SourceType.FILE and self.cleaned_data.get("video") and not data["source"]:
            data.pop("source")  # set by save_upload
        return data


class TestConnectionForm(forms.Form):
    source_type = forms.ChoiceField(choices=SourceType.choices)
    source = forms.CharField(max_length=1000)


class UploadForm(forms.Form):
    video = forms.FileField(label="Video file", widget=forms.FileInput(attrs={"accept": "video/*"}))


def _json_points(value: str, what: str) -> list:
    try:
        points = json.loads(value or "[]")
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"{what}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(points, list):
        raise forms.ValidationError(f"{what} must be a list of [x, y] points.")
    return points


class _CameraPartForm(forms.ModelForm):
    """A zone, line or exclusion area of one camera (the camera is fixed by the page, not a
    form field). Editing a saved one shows its points as JSON, as the drawing script reads them."""

    def __init__(self, *args: Any, camera: Camera, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.camera = camera
        for name in ("polygon", "points"):
            if self.instance.pk and name in self.fields:
                self.initial[name] = json.dumps(getattr(self.instance, name))

    def validate_unique(self) -> None:
        # camera is not a form field, so ModelForm would skip the (camera, name) constraint.
        exclude = self._get_validation_exclusions() - {"camera"}
        try:
            self.instance.validate_unique(exclude=exclude)
            self.instance.validate_constraints(exclude=exclude)
        except forms.ValidationError as exc:
            self._update_errors(exc)


class _PolygonPartForm(_CameraPartForm):
    """A zone or an exclusion area: a named polygon."""

    polygon = forms.CharField(
        label="Polygon points (normalised [x, y] list)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Click on the frame to add points, or type them: [[0.1, 0.2], [0.5, 0.2], [0.4, 0.8]].",
    )

    def clean_polygon(self) -> list:
        return _json_points(self.cleaned_data["polygon"], "Polygon")


class ZoneForm(_PolygonPartForm):
    class Meta:
        model = Zone
        fields = ("name", "polygon", "area_m2", "capacity", "density_warning", "density_critical")


class ExclusionForm(_PolygonPartForm):
    class Meta:
        model = ExclusionArea
        fields = ("name", "polygon")


class LineForm(_CameraPartForm):
    points = forms.CharField(
        label="Line points (normalised [[x1, y1], [x2, y2]])",
        widget=forms.Textarea(attrs={"rows": 1}),
        help_text="Click twice on the frame, or type them.",
    )

    class Meta:
        model = CountingLine
        fields = ("name", "points", "in_side")

    def clean_points(self) -> list:
        return _json_points(self.cleaned_data["points"], "Line")


class CalibrationForm(forms.Form):
    image_points = forms.CharField(
        label="Image points (normalised [x, y] list)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Click at least 4 ground marks on the frame.",
    )
    world_points = forms.CharField(
        label="Ground points (metres [x, y] list, same order)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Measured positions of the same marks on the ground, in metres.",
    )

    def clean_image_points(self) -> list:
        return _json_points(self.cleaned_data["image_points"], "Image points")

    def clean_world_points(self) -> list:
        return _json_points(self.cleaned_data["world_points"], "Ground points")


class RecordingFilterForm(forms.Form):
    camera = forms.ModelChoiceField(queryset=Camera.objects.all(), required=False, empty_label="All cameras")
