"""Camera pages: list, add/edit/delete, upload, test connection, start/stop, the live camera
view, zones and calibration on a still frame, and recordings with in-browser playback.

Writes go through `cameras.services` (validation lives there); views only translate forms
and errors. Viewers read, operators start and stop, admins change configuration.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import role_required
from accounts.roles import Role, has_role
from cameras.forms import (
    CalibrationForm,
    CameraForm,
    ExclusionForm,
    LineForm,
    RecordingFilterForm,
    TestConnectionForm,
    UploadForm,
    ZoneForm,
)
from cameras.live import get_latest_jpeg, get_live_metrics
from cameras.models import Camera, CountingLine, ExclusionArea, Recording, Zone
from cameras.recordings import delete_recording
from cameras.runtime.capacity import stream_capacity
from cameras.services import (
    create_camera,
    delete_camera,
    delete_camera_part,
    save_camera_part,
    save_upload,
    set_calibration,
    start_camera,
    stop_camera,
    test_connection,
    update_camera,
)
from cameras.sources import describe_source, mask_source
from cameras.stills import first_frame_jpeg, raw_still
from cameras.uploads import LIVE_SOURCE_ADMIN_ONLY, may_replace_source
from core.inputs import parse_id
from core.media import file_response
from core.pages import apply_validation_error, render_page

UPLOAD_ERROR_FIELDS = {"file": "video", "uploaded_file": "video", "upload": "video"}


def stream_url(camera: Camera) -> str:
    return f"/api/cameras/{camera.pk}/stream/"


def source_label(camera: Camera) -> str:

    return describe_source(camera.source_type, camera.source) if camera.source else "—"


def htmx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect a normal request, or tell htmx to navigate (after an XHR upload)."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- list and configuration ---------------------------------------------------------------


@require_GET
@role_required(Role.VIEWER)
def camera_list(request: HttpRequest) -> HttpResponse:
    cameras = list(Camera.objects.order_by("name"))
    rows = [{"camera": c, "source": source_label(c)} for c in cameras]
    return render_page(request, "pages/cameras.html", "cameras", {"rows": rows, "slots": _stream_slots()})


def _stream_slots():

    try:
        return stream_capacity()
    except Exception:  # Redis away: the page still lists the cameras
        return None


def _save_camera(request: HttpRequest, form: CameraForm, camera: Camera | None) -> Camera | None:
    """Create or update through the services; on a ValidationError nothing is kept."""

    try:
        with transaction.atomic():
            fields = form.service_fields()
            if camera is None:
                camera = create_camera(user=request.user, **fields)
            else:
                camera = update_camera(camera, user=request.user, **fields)
            video = form.cleaned_data.get("video")
            if video:
                camera = save_upload(camera, video, user=request.user)
    except ValidationError as exc:
        apply_validation_error(form, exc, UPLOAD_ERROR_FIELDS)
        return None
    return camera


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def camera_add(request: HttpRequest) -> HttpResponse:
    return _camera_form_page(request, None)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def camera_edit(request: HttpRequest, camera_id: int) -> HttpResponse:
    return _camera_form_page(request, get_object_or_404(Camera, pk=camera_id))


def _camera_form_page(request: HttpRequest, camera: Camera | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = CameraForm(request.POST, request.FILES, instance=camera)
        if form.is_valid():
            saved = _save_camera(request, form, camera)
            if saved is not None:
                messages.success(request, f"Camera “{saved.name}” saved.")
                return htmx_redirect(request, reverse("camera_detail", args=[saved.pk]))
        status = 400
    else:
        form = CameraForm(instance=camera)
    context = {"form": form, "camera": camera, "test_form": TestConnectionForm()}
    template = "partials/camera_form.html" if request.htmx else "pages/camera_form.html"
    return render_page(request, template, "cameras", context, status=status)


@require_POST
@role_required(Role.OPERATOR)  # operators may upload footage for analysis (not reconfigure)
def camera_upload(request: HttpRequest, camera_id: int) -> HttpResponse:

    camera = get_object_or_404(Camera, pk=camera_id)
    form = UploadForm(request.POST, request.FILES)
    status = 400
    if not may_replace_source(camera, request.user):
        form.errors  # noqa: B018 - validates, so the message below joins the form's errors
        form.add_error(None, LIVE_SOURCE_ADMIN_ONLY)
        status = 403
    elif form.is_valid():
        try:
            save_upload(camera, form.cleaned_data["video"], user=request.user)
        except ValidationError as exc:
            apply_validation_error(form, exc, UPLOAD_ERROR_FIELDS)
        else:
            messages.success(request, "Video uploaded.")
            return htmx_redirect(request, reverse("camera_detail", args=[camera.pk]))
    context = {"upload_form": form, "camera": camera}
    return render(request, "partials/upload_form.html", context, status=status)


@require_POST
@role_required(Role.ADMIN)
def camera_test_connection(request: HttpRequest) -> HttpResponse:

    form = TestConnectionForm(request.POST)
    if not form.is_valid():
        message = "Choose a source type and enter a source first."
        return render(request, "partials/test_result.html", {"ok": False, "message": message}, status=400)
    source = form.cleaned_data["source"]
    camera_id = parse_id(request.POST.get("camera_id"))
    if camera_id is not None:  # an edit form shows a masked URL: test the stored one

        camera = Camera.objects.filter(pk=camera_id).first()
        if camera is not None and source == mask_source(camera.source):
            source = camera.source
    result = test_connection(form.cleaned_data["source_type"], source)
    return render(request, "partials/test_result.html", {"ok": result.ok, "message": result.message})


@require_POST
@role_required(Role.OPERATOR)
def camera_test_saved(request: HttpRequest, camera_id: int) -> HttpResponse:
    """Open a saved camera's source once (operators, as the API's /test/)."""

    camera = get_object_or_404(Camera, pk=camera_id)
    result = test_connection(camera.source_type, camera.source)
    return render(request, "partials/test_result.html", {"ok": result.ok, "message": result.message})


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def camera_delete(request: HttpRequest, camera_id: int) -> HttpResponse:

    camera = get_object_or_404(Camera, pk=camera_id)
    if request.method == "POST":
        name = camera.name
        delete_camera(camera, user=request.user)
        messages.success(request, f"Camera “{name}” deleted.")
        return redirect("cameras")
    return render_page(request, "pages/camera_delete.html", "cameras", {"camera": camera})


@require_POST
@role_required(Role.OPERATOR)
def camera_start(request: HttpRequest, camera_id: int) -> HttpResponse:

    camera = get_object_or_404(Camera, pk=camera_id)
    try:
        started = start_camera(camera, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"“{camera.name}” cannot start: {' '.join(exc.messages)}")
        return redirect(_back(request, camera))
    if started:
        messages.success(request, f"“{camera.name}” is starting.")
    else:
        messages.info(request, f"“{camera.name}” is already running.")
    return redirect(_back(request, camera))


@require_POST
@role_required(Role.OPERATOR)
def camera_stop(request: HttpRequest, camera_id: int) -> HttpResponse:

    camera = get_object_or_404(Camera, pk=camera_id)
    stop_camera(camera, user=request.user)
    messages.success(request, f"“{camera.name}” stopped.")
    return redirect(_back(request, camera))


def _back(request: HttpRequest, camera: Camera) -> str:
    """Return to the page the button was on (only our own pages)."""
    nxt = request.POST.get("next", "")
    return nxt if re.fullmatch(r"/[\w/\-]*", nxt or "") and not nxt.startswith("//") else reverse("cameras")


# --- camera view ---------------------------------------------------------------------------


@require_GET
@role_required(Role.VIEWER)
def camera_detail(request: HttpRequest, camera_id: int) -> HttpResponse:

    camera = get_object_or_404(Camera, pk=camera_id)
    context = {
        "camera": camera,
        "source": source_label(camera),
        "stream_url": stream_url(camera),
        "live": get_live_metrics(camera.pk),
        "recordings": list(camera.recordings.order_by("-started_at")[:10]),
        "zones": list(camera.zones.all()),
        "upload_form": UploadForm(),
        "can_upload": has_role(request.user, Role.OPERATOR) and may_replace_source(camera, request.user),
    }
    return render_page(request, "pages/camera_detail.html", "cameras", context)


@require_GET
@role_required(Role.VIEWER)
def camera_frame(request: HttpRequest, camera_id: int) -> HttpResponse:
    """A still JPEG of the camera: the latest live frame, else the first frame of its file."""

    camera = get_object_or_404(Camera, pk=camera_id)
    jpeg = get_latest_jpeg(camera.pk) or first_frame_jpeg(camera)
    if jpeg is None:
        raise Http404("No frame is available: start the camera or upload a video.")
    return _jpeg_response(jpeg)


@require_GET
@role_required(Role.ADMIN)
def camera_raw_still(request: HttpRequest, camera_id: int) -> HttpResponse:
    """The unannotated still the zone editor draws on (see cameras.stills); 204 when there is
    none (a stopped live camera): the editor says so and still lets points be typed or drawn."""

    camera = get_object_or_404(Camera, pk=camera_id)
    jpeg = raw_still(camera)
    if jpeg is None:
        return HttpResponse(status=204)
    return _jpeg_response(jpeg)


def _jpeg_response(jpeg: bytes) -> HttpResponse:
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


# --- zones, counting lines, exclusion areas, calibration -----------------------------------

# What the editor edits: the kind (the form's prefix and POST action) → model, form, label.
PART_KINDS: dict[str, tuple[type[models.Model], type[forms.ModelForm], str]] = {
    "zone": (Zone, ZoneForm, "Zone"),
    "line": (CountingLine, LineForm, "Line"),
    "exclusion": (ExclusionArea, ExclusionForm, "Exclusion area"),
}


def geometry(camera: Camera, editing: dict[str, int]) -> dict[str, Any]:
    """What the drawing script shows; the part being edited is the draft, not drawn twice."""
    return {
        "zones": [{"id": z.pk, "name": z.name, "polygon": z.polygon} for z in camera.zones.all()
                  if editing.get("zone") != z.pk],
        "lines": [{"id": ln.pk, "name": ln.name, "points": ln.points, "in_side": ln.in_side}
                  for ln in camera.lines.all() if editing.get("line") != ln.pk],
        "exclusions": [{"id": e.pk, "name": e.name, "polygon": e.polygon} for e in camera.exclusions.all()
                       if editing.get("exclusion") != e.pk],
        "calibration": camera.calibration_image_points or [],
    }


def _part_forms(request: HttpRequest, camera: Camera, action: str) -> dict[str, forms.ModelForm]:
    """One form per kind: bound to the POST of its action; a saved part when one is edited
    (`?zone=<id>` on GET, the hidden `id` on POST)."""
    out = {}
    for kind, (model, form_class, _) in PART_KINDS.items():
        raw_id = request.POST.get("id") if action == kind else request.GET.get(kind) if not action else None
        instance = None
        if raw_id:
            instance = get_object_or_404(model, camera=camera, pk=parse_id(raw_id) or 0)
        data = request.POST if action == kind else None
        out[kind] = form_class(data, camera=camera, prefix=kind, instance=instance)
    return out


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def camera_zones(request: HttpRequest, camera_id: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=camera_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    part_forms = _part_forms(request, camera, action)
    calibration_form = CalibrationForm(
        request.POST if action == "calibration" else None,
        prefix="calibration",
        initial={
            "image_points": json.dumps(camera.calibration_image_points or []),
            "world_points": json.dumps(camera.calibration_world_points or []),
        },
    )
    status = 200
    if action:
        done = _apply_geometry_action(request, camera, action, part_forms, calibration_form)
        if done:
            return redirect("camera_zones", camera_id=camera.pk)
        status = 400
    editing = {kind: form.instance.pk for kind, form in part_forms.items() if form.instance.pk}
    context = {
        "camera": camera,
        "zone_form": part_forms["zone"],
        "line_form": part_forms["line"],
        "exclusion_form": part_forms["exclusion"],
        "calibration_form": calibration_form,
        "geometry": geometry(camera, editing),
        "zones": list(camera.zones.all()),
        "lines": list(camera.lines.all()),
        "exclusions": list(camera.exclusions.all()),
    }
    return render_page(request, "pages/camera_zones.html", "cameras", context, status=status)


def _apply_geometry_action(request, camera, action, part_forms, calibration_form) -> bool:
    if action in PART_KINDS:
        form = part_forms[action]
        if form.is_valid():
            save_camera_part(form.save(commit=False), user=request.user, fields=form.changed_data)
            messages.success(request, f"{PART_KINDS[action][2]} “{form.instance.name}” saved.")
            return True
        return False
    if action == "calibration":
        if calibration_form.is_valid():
            try:
                camera = set_calibration(
                    camera,
                    calibration_form.cleaned_data["image_points"],
                    calibration_form.cleaned_data["world_points"],
                )
            except ValidationError as exc:
                _calibration_errors(calibration_form, exc)
                return False
            error = camera.reprojection_error_m
            shown = f"{error:.3f} m" if error is not None else "n/a"
            messages.success(request, f"Calibration saved; reprojection error {shown}.")
            return True
        return False
    kind = action.removeprefix("delete_")
    if action.startswith("delete_") and kind in PART_KINDS:
        model = PART_KINDS[kind][0]
        obj = model.objects.filter(camera=camera, pk=parse_id(request.POST.get("id")) or 0).first()
        if obj is None:
            messages.error(request, "That zone, line or exclusion area no longer exists.")
            return False
        delete_camera_part(obj, user=request.user)
        messages.success(request, f"“{obj.name}” deleted.")
        return True
    messages.error(request, "Unknown action.")
    return False


def _calibration_errors(form: CalibrationForm, exc: ValidationError) -> None:
    names = {"calibration_image_points": "image_points", "calibration_world_points": "world_points"}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = names.get(field, field)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- recordings -----------------------------------------------------------------------------


@require_GET
@role_required(Role.VIEWER)
def recording_list(request: HttpRequest) -> HttpResponse:
    form = RecordingFilterForm(request.GET or None)
    qs = Recording.objects.select_related("camera").order_by("-started_at")
    if form.is_valid() and form.cleaned_data.get("camera"):
        qs = qs.filter(camera=form.cleaned_data["camera"])
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    play = None
    if (play_id := parse_id(request.GET.get("play"))) is not None:
        play = Recording.objects.filter(pk=play_id).select_related("camera").first()
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("play", None)
    context = {"form": form, "page": page, "play": play, "query": query.urlencode()}
    return render_page(request, "pages/recordings.html", "recordings", context)


@require_GET
@role_required(Role.OPERATOR)  # the bytes of a recording, as the API's download: operators only
def recording_file(request: HttpRequest, recording_id: int) -> HttpResponse:
    """The video file, with HTTP Range support so the browser's player can seek."""
    recording = get_object_or_404(Recording, pk=recording_id)
    try:
        path = Path(recording.file.path)
    except (ValueError, NotImplementedError) as exc:
        raise Http404("This recording has no file.") from exc
    return file_response(request, path)


@require_POST
@role_required(Role.ADMIN)
def recording_delete(request: HttpRequest, recording_id: int) -> HttpResponse:

    recording = get_object_or_404(Recording, pk=recording_id)
    label = f"{recording.camera.name} {os.path.basename(recording.file.name)}"
    delete_recording(recording)
    messages.success(request, f"Recording {label} deleted.")
    return redirect("recordings")
