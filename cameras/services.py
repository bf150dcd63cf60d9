"""Camera services: the one place that creates, changes, starts and stops cameras.

Admin actions, the API and the pages all call these. Bad input raises
django.core.exceptions.ValidationError with a field dict, and nothing is saved then.
Starting stores the wish (`desired_state`) and enqueues a runner; the runner reports the
observed status. Nothing here waits for a runner. Each action (camera create, change, start,
stop, delete; zone and line create, change, delete) leaves one entry in the audit trail.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cameras import live
from cameras.models import (
    Camera,
    CameraStatus,
    CountingLine,
    DesiredState,
    ExclusionArea,
    SourceType,
    Zone,
)
from cameras.recordings import delete_recording
from cameras.runtime import capacity, conf, leases, progress
from cameras.sources import ConnectionResult, resolve_source, validate_source
from cameras.sources import test_connection as _test_connection
from cameras.status import set_status
from cameras.uploads import remove_unused_upload, save_upload
from core import audit

# Sent by name: cameras.tasks imports this module (one direction, no import cycle).
RUN_CAMERA_TASK = "cameras.tasks.run_camera"
log = logging.getLogger(__name__)

EDITABLE_FIELDS = frozenset(
    {
        "name", "location", "source_type", "source", "area_m2", "capacity", "target_fps", "is_active",
        "tiling_mode", "detector_imgsz",
    }
)

__all__ = [
    "ConnectionResult",
    "create_camera",
    "delete_camera",
    "delete_camera_part",
    "enqueue_runner",
    "reconcile",
    "save_camera_part",
    "save_upload",
    "set_calibration",
    "start_camera",
    "stop_camera",
    "test_connection",
    "update_camera",
]


def test_connection(source_type: str, source: str, *, timeout_s: float = 8) -> ConnectionResult:
    """Open a source with a time limit: ok, or the reason it failed (never raises)."""
    return _test_connection(source_type, source, timeout_s=timeout_s)


test_connection.__test__ = False  # type: ignore[attr-defined]


def _apply(camera: Camera, fields: dict) -> Camera:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be set here."] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(camera, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if camera.source:
        try:
            camera.source = validate_source(camera.source_type, camera.source)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        camera.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return camera


@transaction.atomic
def create_camera(*, user=None, **fields) -> Camera:
    camera = _apply(Camera(), fields)
    camera.save()
    audit.record(audit.Action.CAMERA_CREATE, actor=user, obj=camera, camera_id=camera.pk)
    return camera


def update_camera(camera: Camera, *, user=None, **fields) -> Camera:
    """Change a camera. A running camera picks up area, capacity, zones, tiling, input size and
    settings within seconds; a new source or rate restarts its runner."""
    previous_source = (camera.source_type, camera.source)
    original = Camera.objects.get(pk=camera.pk)
    try:
        _apply(camera, fields)
    except ValidationError:
        for name in EDITABLE_FIELDS:  # leave the caller's object as it was
            setattr(camera, name, getattr(original, name))
        raise
    with transaction.atomic():
        camera.save()
        changed = sorted(name for name in fields if getattr(original, name) != getattr(camera, name))
        if changed:  # names only: a source may carry credentials
            audit.record(
                audit.Action.CAMERA_UPDATE, actor=user, obj=camera, camera_id=camera.pk, fields=changed
            )
    if previous_source[0] == SourceType.FILE and previous_source != (camera.source_type, camera.source):
        remove_unused_upload(previous_source[1])
    if not camera.is_active and camera.desired_state == DesiredState.RUNNING:
        _stop(camera)  # part of the change above, not an entry of its own
    return camera


def delete_camera(camera: Camera, *, user=None) -> None:
    """Stop it, delete its recordings (files too) and its now unused uploaded source."""
    _stop(camera)
    for recording in camera.recordings.all():
        delete_recording(recording)
    source = camera.source if camera.source_type == SourceType.FILE else ""
    camera_id = camera.pk
    with transaction.atomic():
        audit.record(audit.Action.CAMERA_DELETE, actor=user, obj=camera, camera_id=camera_id)
        camera.delete()
    live.clear_live_state(camera_id)
    if source:
        remove_unused_upload(source)


def enqueue_runner(camera_id: int, detail: str = "", status: str = CameraStatus.STARTING) -> bool:
    """Queue a runner unless one is already queued (the lease stops any duplicate anyway).
    Without a detail, the status says whether a stream slot is free."""
    if not leases.mark_pending(camera_id):
        return False
    set_status(camera_id, status, detail or capacity.waiting_detail())

    def send() -> None:
        try:  # routed to the streams queue by CELERY_TASK_ROUTES
            current_app.send_task(RUN_CAMERA_TASK, (camera_id,))
        except Exception:
            leases.clear_pending(camera_id)
            raise

    transaction.on_commit(send)  # the runner must see the committed wish
    return True


def start_camera(camera: Camera, *, user=None) -> bool:
    """Ask for the camera to run. False when it already runs (or a start is queued)."""
    if not camera.is_active:
        raise ValidationError({"is_active": ["This camera is disabled; enable it first."]})
    resolve_source(camera.source_type, camera.source)  # ValidationError when missing/invalid
    Camera.objects.filter(pk=camera.pk).update(desired_state=DesiredState.RUNNING)
    camera.desired_state = DesiredState.RUNNING
    audit.record(audit.Action.CAMERA_START, actor=user, obj=camera, camera_id=camera.pk)
    if leases.is_running(camera.pk):
        return False
    return enqueue_runner(camera.pk)


def stop_camera(camera: Camera, *, user=None) -> None:
    """Drop the wish; the runner ends at its next heartbeat (a few seconds)."""
    audit.record(audit.Action.CAMERA_STOP, actor=user, obj=camera, camera_id=camera.pk)
    _stop(camera)


def _stop(camera: Camera) -> None:
    Camera.objects.filter(pk=camera.pk).update(desired_state=DesiredState.STOPPED)
    camera.desired_state = DesiredState.STOPPED
    leases.clear_pending(camera.pk)
    capacity.unpark(camera.pk)
    if not leases.is_running(camera.pk):
        set_status(camera.pk, CameraStatus.STOPPED, "Stopped.")
        camera.status = CameraStatus.STOPPED
        progress.clear(camera.pk)  # a file analysed again after a stop starts from the beginning


_PART_ACTIONS = {
    Zone: (audit.Action.ZONE_CREATE, audit.Action.ZONE_UPDATE, audit.Action.ZONE_DELETE),
    CountingLine: (audit.Action.LINE_CREATE, audit.Action.LINE_UPDATE, audit.Action.LINE_DELETE),
    ExclusionArea: (
        audit.Action.EXCLUSION_CREATE, audit.Action.EXCLUSION_UPDATE, audit.Action.EXCLUSION_DELETE
    ),
}

CameraPart = Zone | CountingLine | ExclusionArea


@transaction.atomic
def save_camera_part(part: CameraPart, *, user=None, fields=()) -> CameraPart:
    """Save a validated zone, counting line or exclusion area (new or changed); `fields` names
    what changed. A running camera picks it up at its next configuration check (seconds)."""
    create, update, _ = _PART_ACTIONS[type(part)]
    adding = part._state.adding
    part.save()
    if adding:
        audit.record(create, actor=user, obj=part, camera_id=part.camera_id)
    else:
        audit.record(update, actor=user, obj=part, camera_id=part.camera_id, fields=sorted(fields))
    return part


@transaction.atomic
def delete_camera_part(part: CameraPart, *, user=None) -> None:
    audit.record(_PART_ACTIONS[type(part)][2], actor=user, obj=part, camera_id=part.camera_id)
    part.delete()


def set_calibration(camera: Camera, image_points, world_points) -> Camera:
    """Fit and store the ground-plane homography (empty lists remove the calibration)."""
    camera.calibration_image_points = image_points or []
    camera.calibration_world_points = world_points or []
    # At call time: the engine (OpenCV, scikit-learn: ~0.8 s) is not loaded by every web process.
    from analytics.engine import CalibrationError, compute_homography

    camera.clean()  # point formats, ranges and counts
    if not camera.calibration_image_points:
        camera.homography, camera.reprojection_error_m = None, None
    else:
        try:
            homography, error = compute_homography(image_points, world_points)
        except CalibrationError as exc:
            raise ValidationError({"calibration_image_points": [str(exc)]}) from exc
        camera.homography = [[float(v) for v in row] for row in homography.tolist()]
        camera.reprojection_error_m = float(error)
    camera.save(
        update_fields=[
            "calibration_image_points", "calibration_world_points", "homography",
            "reprojection_error_m", "updated_at",
        ]
    )
    return camera


def recover_camera(camera_id: int, reason: str) -> bool:
    """Take over at once a camera whose runner died (its lease is broken when its process is
    known dead); the camera reads "recovering" until the new runner has frames. False when a
    live runner holds it, or it should not run."""
    if not leases.break_if_dead(camera_id) and leases.is_running(camera_id):
        return False
    camera = Camera.objects.filter(pk=camera_id, desired_state=DesiredState.RUNNING, is_active=True).first()
    if camera is None:
        return False
    leases.clear_pending(camera_id)  # the dead runner's start may still look pending
    log.warning("Camera %s: %s Taking over.", camera_id, reason)
    return enqueue_runner(camera_id, f"{reason} A new runner is taking over.", CameraStatus.RECOVERING)


def recover_dead_runners() -> list[int]:
    """Take over the cameras whose runner's process died on this host (worker restarted)."""
    recovered = []
    for camera_id in Camera.objects.filter(desired_state=DesiredState.RUNNING, is_active=True).values_list(
        "pk", flat=True
    ):
        if leases.break_if_dead(camera_id) and recover_camera(camera_id, "The runner's worker died."):
            recovered.append(camera_id)
    return recovered


# A camera that showed these and has no runner any more lost it: it is "recovering".
_WAS_LIVE = (CameraStatus.RUNNING, CameraStatus.RECONNECTING, CameraStatus.RECOVERING)


def reconcile() -> dict[str, list[int]]:
    """Restart cameras that should run and have no live runner; mark stale ones stopped."""
    restarted, cleaned = [], []
    recover_dead_runners()
    slots = None
    # A runner that reported frames this recently is alive even without its lease key (Redis
    # restarted empty): it takes the lease back at its next heartbeat; a second runner would
    # only fence it out and lose seconds.
    alive_since = timezone.now() - timedelta(seconds=conf.lease_ttl_s() - conf.heartbeat_s())
    for camera_id, status, detail, seen in Camera.objects.filter(
        desired_state=DesiredState.RUNNING, is_active=True
    ).values_list("pk", "status", "status_detail", "last_seen_at"):
        if leases.is_running(camera_id) or capacity.is_parked(camera_id):
            continue
        if status == CameraStatus.RUNNING and seen is not None and seen > alive_since:
            continue
        if leases.is_pending(camera_id):  # queued: keep its wait reason current
            if status == CameraStatus.STARTING and detail.startswith("Waiting for a stream"):
                slots = slots or capacity.stream_capacity()
                if (wait := capacity.waiting_detail(slots)) != detail:
                    set_status(camera_id, status, wait)
            continue
        if capacity.last_park_backoff(camera_id) is not None:
            started = enqueue_runner(
                camera_id, f"Trying the source again. {capacity.waiting_detail()}", CameraStatus.RECONNECTING
            )
        elif status in _WAS_LIVE:
            started = enqueue_runner(camera_id, "Its runner stopped answering; a new one is taking over.",
                                     CameraStatus.RECOVERING)
        else:
            started = enqueue_runner(camera_id)
        if started:
            restarted.append(camera_id)
    stale = Camera.objects.filter(desired_state=DesiredState.STOPPED).exclude(
        status__in=[CameraStatus.STOPPED, CameraStatus.FINISHED, CameraStatus.ERROR]
    )
    for camera_id in stale.values_list("pk", flat=True):
        if not leases.is_running(camera_id) and not leases.is_pending(camera_id):
            set_status(camera_id, CameraStatus.STOPPED, "Stopped.")
            cleaned.append(camera_id)
    if restarted:
        log.warning("Reconcile restarted cameras %s", restarted)
    return {"restarted": restarted, "marked_stopped": cleaned}
