"""Cameras, their zones and counting lines, and their recordings.

Image coordinates (zone polygons, line points, calibration image points) are stored
*normalised*: x and y as fractions 0..1 of the frame's width and height, so they survive a
change of stream resolution. Ground coordinates are metres.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from cameras.validators import (
    validate_imgsz,
    validate_line_points,
    validate_normalised_points,
    validate_polygon,
    validate_world_points,
)


class SourceType(models.TextChoices):
    RTSP = "rtsp", "RTSP stream"
    HTTP = "http", "HTTP(S) stream or video URL"
    USB = "usb", "USB camera (device index)"
    FILE = "file", "Uploaded video file"


class DesiredState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class CameraStatus(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    RECONNECTING = "reconnecting", "Reconnecting"
    RECOVERING = "recovering", "Recovering"  # its runner died; another one is taking over
    ERROR = "error", "Error"
    FINISHED = "finished", "Finished"


def status_label(status) -> str:
    """The one word every page and the API show for a status ("" for none)."""
    try:
        return CameraStatus(status).label
    except ValueError:
        return str(status or "").capitalize()


class TilingMode(models.TextChoices):
    """Sliced inference: the frame is also run as overlapping tiles so small people are found."""

    AUTO = "auto", "Auto (tiles when people look small or the crowd is dense)"
    ON = "on", "On (always tiles)"
    OFF = "off", "Off (whole frame only)"


class Camera(models.Model):
    name = models.CharField(max_length=100, unique=True)
    location = models.CharField(max_length=200, blank=True)
    source_type = models.CharField(max_length=8, choices=SourceType.choices, default=SourceType.FILE)
    # URL, device index or a path inside the upload folder; validated by cameras.sources.
    source = models.CharField(max_length=1000, blank=True)
    area_m2 = models.FloatField(
        "monitored area (m²)",
        default=100.0,
        validators=[MinValueValidator(0.5), MaxValueValidator(1_000_000)],
        help_text="Ground area the camera sees, used for density when it is not calibrated.",
    )
    capacity = models.PositiveIntegerField(
        "expected capacity (people)", default=500, validators=[MinValueValidator(1)]
    )
    target_fps = models.FloatField(
        "processing rate (frames/s)",
        default=10.0,
        validators=[MinValueValidator(0.5), MaxValueValidator(60)],
    )
    tiling_mode = models.CharField(
        "sliced inference",
        max_length=4,
        choices=TilingMode.choices,
        default=TilingMode.AUTO,
        help_text="Tiles find small, distant people at several times the detector time per frame; "
        "auto turns them on where the scene needs them.",
    )
    detector_imgsz = models.PositiveIntegerField(
        "detector input size (px)",
        null=True,
        blank=True,
        validators=[validate_imgsz],
        help_text="Empty: the deployment's CROWDSAFE_DETECTOR_IMGSZ. A multiple of 32, 160..2560. "
        "A fixed-size model export runs at its own size (the camera page says so).",
    )
    desired_state = models.CharField(
        max_length=8, choices=DesiredState.choices, default=DesiredState.STOPPED, db_index=True
    )
    status = models.CharField(
        max_length=16, choices=CameraStatus.choices, default=CameraStatus.STOPPED, db_index=True
    )
    status_detail = models.CharField(max_length=500, blank=True)
    status_since = models.DateTimeField(null=True, blank=True)  # when `status` last changed
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Fencing token of the runner that holds the lease (cameras.runtime.leases): metric flushes
    # of a runner whose token is no longer this one are refused.
    lease_token = models.PositiveBigIntegerField(default=0, editable=False)

    # Ground-plane calibration: >= 4 image points (normalised) and their ground positions (m).
    calibration_image_points = models.JSONField(default=list, blank=True)
    calibration_world_points = models.JSONField(default=list, blank=True)
    homography = models.JSONField(null=True, blank=True, editable=False)
    reprojection_error_m = models.FloatField(null=True, blank=True, editable=False)

    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_calibrated(self) -> bool:
        return self.homography is not None

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        image_pts, world_pts = self.calibration_image_points, self.calibration_world_points
        if image_pts or world_pts:
            for field, validator in (
                ("calibration_image_points", validate_normalised_points),
                ("calibration_world_points", validate_world_points),
            ):
                try:
                    validator(getattr(self, field))
                except ValidationError as exc:
                    errors.setdefault(field, []).extend(exc.messages)
            if not errors:
                if len(image_pts) != len(world_pts):
                    errors["calibration_world_points"] = [
                        "Give one ground point for every image point."
                    ]
                elif len(image_pts) < 4:
                    errors["calibration_image_points"] = [
                        "A calibration needs at least 4 point pairs."
                    ]
        if errors:
            raise ValidationError(errors)


class Zone(models.Model):
    """A polygon of the image; a person is inside when their foot point is."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=100)
    polygon = models.JSONField(validators=[validate_polygon], help_text="[[x, y], ...] normalised 0..1")
    area_m2 = models.FloatField(
        "area (m²)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1)],
        help_text="Leave empty on a calibrated camera to compute it from the calibration.",
    )
    capacity = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    density_warning = models.FloatField(
        "density warning override (p/m²)", null=True, blank=True, validators=[MinValueValidator(0.1)]
    )
    density_critical = models.FloatField(
        "density critical override (p/m²)", null=True, blank=True, validators=[MinValueValidator(0.1)]
    )

    class Meta:
        ordering = ["camera", "name"]
        constraints = [
            models.UniqueConstraint(fields=["camera", "name"], name="zone_unique_name_per_camera")
        ]

    def __str__(self) -> str:
        return f"{self.camera} / {self.name}"

    def clean(self) -> None:
        if (
            self.density_warning is not None
            and self.density_critical is not None
            and self.density_warning >= self.density_critical
        ):
            raise ValidationError(
                {"density_critical": "The critical density must be above the warning density."}
            )


class LineSide(models.TextChoices):
    LEFT = "left", "Left of the line (walking from point 1 to point 2)"
    RIGHT = "right", "Right of the line (walking from point 1 to point 2)"


class CountingLine(models.Model):
    """A line people cross; crossings towards `in_side` count as in, the others as out."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="lines")
    name = models.CharField(max_length=100)
    points = models.JSONField(validators=[validate_line_points], help_text="[[x1, y1], [x2, y2]] normalised")
    in_side = models.CharField(max_length=5, choices=LineSide.choices, default=LineSide.LEFT)

    class Meta:
        ordering = ["camera", "name"]
        constraints = [
            models.UniqueConstraint(fields=["camera", "name"], name="line_unique_name_per_camera")
        ]

    def __str__(self) -> str:
        return f"{self.camera} / {self.name}"


class ExclusionArea(models.Model):
    """A polygon of the image where detections are ignored (a poster, a screen, a mannequin):
    the engine drops a detection whose foot point falls inside, before tracking and counting."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="exclusions")
    name = models.CharField(max_length=100)
    polygon = models.JSONField(validators=[validate_polygon], help_text="[[x, y], ...] normalised 0..1")

    class Meta:
        ordering = ["camera", "name"]
        constraints = [
            models.UniqueConstraint(fields=["camera", "name"], name="exclusion_unique_name_per_camera")
        ]

    def __str__(self) -> str:
        return f"{self.camera} / {self.name}"


class RecordingKind(models.TextChoices):
    UPLOAD = "upload", "Uploaded video"
    ANALYSED = "analysed", "Analysed (annotated) video"


def recording_upload_to(instance: Recording, filename: str) -> str:
    return f"recordings/{instance.camera_id}/{filename}"


class Recording(models.Model):
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="recordings")
    kind = models.CharField(max_length=10, choices=RecordingKind.choices, default=RecordingKind.ANALYSED)
    file = models.FileField(upload_to=recording_upload_to, max_length=500)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(default=0, validators=[MinValueValidator(0)])
    frames = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0, validators=[MinValueValidator(0)])
    size_bytes = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    codec = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["camera", "-started_at"], name="recording_camera_time")]

    def __str__(self) -> str:
        return f"{self.camera} {self.started_at:%Y-%m-%d %H:%M:%S}"


class FileProgress(models.Model):
    """How far a file camera's analysis got (cameras.runtime.progress): in the database, so
    neither a worker crash nor a Redis restart makes a file start over under a new time origin."""

    camera = models.OneToOneField(Camera, on_delete=models.CASCADE, primary_key=True, related_name="+")
    source = models.CharField(max_length=1000)
    origin = models.DateTimeField(help_text="UTC time of the file's second 0")
    resume_s = models.FloatField(help_text="Source second to go on from")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.camera_id} at {self.resume_s:.0f} s"
