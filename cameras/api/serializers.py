from __future__ import annotations

from rest_framework import serializers

from cameras.live import get_live_metrics
from cameras.models import Camera, ExclusionArea, Recording, SourceType, TilingMode, Zone
from cameras.sources import ALLOWED_SCHEMES, mask_source
from cameras.validators import IMGSZ_MAX, IMGSZ_MIN, validate_imgsz
from core.api.strict import StrictSerializer
from core.count_quality import frame_quality


def _masked(source: str) -> str:

    return mask_source(source)


class ZoneBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Zone
        fields = ["id", "name", "area_m2", "capacity", "density_warning", "density_critical"]


class ExclusionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExclusionArea
        fields = ["id", "name", "polygon"]


class CameraSerializer(serializers.ModelSerializer):
    """A camera as every API response shows it: the source with its credentials masked."""

    source = serializers.SerializerMethodField()
    is_calibrated = serializers.BooleanField(read_only=True)
    zones = ZoneBriefSerializer(many=True, read_only=True)
    exclusions = ExclusionBriefSerializer(
        many=True, read_only=True,
        help_text="Areas (normalised polygons) whose detections the engine ignores; edited on the "
        "zones page.",
    )
    status_label = serializers.CharField(
        source="get_status_display", read_only=True,
        help_text="The status in the words every page shows (CameraStatus labels).",
    )
    is_processing = serializers.SerializerMethodField()
    current_metrics = serializers.SerializerMethodField()
    detection = serializers.SerializerMethodField(
        help_text="What the runner does now: tiling mode/active/grid/mirrored, input size (with a note when "
        "the model cannot honour the setting) and the count quality; null when not running."
    )

    class Meta:
        model = Camera
        fields = [
            "id",
            "name",
            "location",
            "source_type",
            "source",
            "area_m2",
            "capacity",
            "target_fps",
            "tiling_mode",
            "detector_imgsz",
            "desired_state",
            "status",
            "status_label",
            "status_detail",
            "last_seen_at",
            "is_calibrated",
            "reprojection_error_m",
            "is_active",
            "zones",
            "exclusions",
            "is_processing",
            "current_metrics",
            "detection",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_source(self, camera: Camera) -> str:
        return _masked(camera.source)

    def get_is_processing(self, camera: Camera) -> bool:
        return camera.status in ("running", "starting", "reconnecting", "recovering")

    def _live(self, camera: Camera) -> dict:
        """One Redis read per camera and response, shared by the live fields."""
        cache = self.context.setdefault("_live_metrics", {}) if isinstance(self.context, dict) else {}
        if camera.pk not in cache:
            cache[camera.pk] = live_metrics(camera.pk) or {}
        return cache[camera.pk]

    def get_current_metrics(self, camera: Camera) -> dict:
        return self._live(camera)

    def get_detection(self, camera: Camera) -> dict | None:
        return detection_state(self._live(camera))


def detection_state(live: dict) -> dict | None:
    """The mode in force and the count quality from the runner's newest figures."""
    if not live:
        return None

    quality = frame_quality(live)
    quality.pop("tiled")
    return {
        "tiling": live.get("tiling"),
        "imgsz": live.get("imgsz"),
        "imgsz_note": live.get("imgsz_note") or "",
        "count_quality": quality,
    }


def live_metrics(camera_id: int) -> dict | None:
    """The runner's newest figures from Redis; None when nothing is live (or Redis is down)."""
    try:
        return get_live_metrics(camera_id)
    except Exception:  # noqa: BLE001 - live figures are optional in a listing
        return None


class CameraWriteSerializer(StrictSerializer):
    """Fields an admin may set; the camera services validate the source and the rest."""

    name = serializers.CharField(max_length=100)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False)
    source = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    area_m2 = serializers.FloatField(min_value=0.5, max_value=1_000_000, required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    target_fps = serializers.FloatField(min_value=0.5, max_value=60, required=False)
    tiling_mode = serializers.ChoiceField(choices=TilingMode.choices, required=False)
    detector_imgsz = serializers.IntegerField(
        min_value=IMGSZ_MIN,
        max_value=IMGSZ_MAX,
        allow_null=True,
        required=False,
        validators=[validate_imgsz],
        help_text="Detector input size for this camera, a multiple of 32; null: the deployment default.",
    )
    is_active = serializers.BooleanField(required=False)

    # The original product's names, so its clients keep working (see ALIASES).
    source_url = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, write_only=True, help_text="Same as source."
    )
    area_sqm = serializers.FloatField(
        min_value=0.5, max_value=1_000_000, required=False, write_only=True, help_text="Same as area_m2."
    )
    expected_capacity = serializers.IntegerField(
        min_value=1, max_value=10_000_000, required=False, write_only=True, help_text="Same as capacity."
    )
    fps_target = serializers.FloatField(
        min_value=0.5, max_value=60, required=False, write_only=True, help_text="Same as target_fps."
    )
    resolution = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Accepted for the original product's clients and not used: frames are analysed at "
        "the source's own size (the original stored it without using it either).",
    )

    ALIASES = {
        "source_url": "source",
        "area_sqm": "area_m2",
        "expected_capacity": "capacity",
        "fps_target": "target_fps",
    }

    def validate(self, attrs: dict) -> dict:
        attrs.pop("resolution", None)
        errors = {}
        for alias, name in self.ALIASES.items():
            if alias not in attrs:
                continue
            value = attrs.pop(alias)
            if name in attrs and attrs[name] != value:
                errors[alias] = [f"Same setting as {name}, with another value; send only one of them."]
            attrs[name] = value
        if errors:
            raise serializers.ValidationError(errors)
        if "source_type" not in attrs and attrs.get("source"):
            guessed = guess_source_type(attrs["source"])
            if guessed:
                attrs["source_type"] = guessed
        return attrs


def guess_source_type(source: str) -> str | None:
    """The type a source plainly is (rtsp://, http(s)://, a device index), for clients that
    send a source without its type as the original product allowed; None when unclear."""

    source = source.strip()
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    for source_type, schemes in ALLOWED_SCHEMES.items():
        if scheme in schemes:
            return source_type
    if source.isascii() and source.isdigit():
        return SourceType.USB
    return None


class CameraPartialSerializer(CameraWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)


class ConnectionTestSerializer(StrictSerializer):
    source_type = serializers.ChoiceField(choices=SourceType.choices)
    source = serializers.CharField(max_length=1000)


class ConnectionResultSerializer(serializers.Serializer):
    connection_status = serializers.ChoiceField(choices=["ok", "error"])
    ok = serializers.BooleanField()
    message = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    fps = serializers.FloatField(allow_null=True)


class CameraActionSerializer(serializers.Serializer):
    status = serializers.CharField()
    camera_id = serializers.IntegerField()


class UploadSerializer(StrictSerializer):
    video = serializers.FileField(required=False, help_text="The video (mp4, avi, mov, mkv, webm).")
    file = serializers.FileField(required=False, help_text="Same as video.")

    def validate(self, attrs):
        upload = attrs.get("video") or attrs.get("file")
        if upload is None:
            raise serializers.ValidationError({"video": "Attach the video file in the 'video' field."})
        return {"video": upload}


class RecordingSerializer(serializers.ModelSerializer):
    camera_name = serializers.CharField(source="camera.name", read_only=True)
    filename = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "camera",
            "camera_name",
            "kind",
            "filename",
            "started_at",
            "ended_at",
            "duration_s",
            "frames",
            "width",
            "height",
            "fps",
            "size_bytes",
            "codec",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_filename(self, recording: Recording) -> str:
        return recording.file.name.rsplit("/", 1)[-1] if recording.file else ""

    def get_download_url(self, recording: Recording) -> str:
        return f"/api/recordings/{recording.pk}/download/"
