from __future__ import annotations

from rest_framework import serializers

from cameras.models import Camera, Recording, SourceType, Zone


def _masked(source: str) -> str:
    from cameras.sources import mask_source

    return mask_source(source)


class ZoneBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Zone
        fields = ["id", "name", "area_m2", "capacity", "density_warning", "density_critical"]


class CameraSerializer(serializers.ModelSerializer):
    """A camera as every API response shows it: the source with its credentials masked."""

    source = serializers.SerializerMethodField()
    is_calibrated = serializers.BooleanField(read_only=True)
    zones = ZoneBriefSerializer(many=True, read_only=True)
    is_processing = serializers.SerializerMethodField()
    current_metrics = serializers.SerializerMethodField()

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
            "desired_state",
            "status",
            "status_detail",
            "last_seen_at",
            "is_calibrated",
            "reprojection_error_m",
            "is_active",
            "zones",
            "is_processing",
            "current_metrics",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_source(self, camera: Camera) -> str:
        return _masked(camera.source)

    def get_is_processing(self, camera: Camera) -> bool:
        return camera.status in ("running", "starting", "reconnecting")

    def get_current_metrics(self, camera: Camera) -> dict:
        return live_metrics(camera.pk) or {}


def live_metrics(camera_id: int) -> dict | None:
    """The runner's newest figures from Redis; None when nothing is live (or Redis is down)."""
    try:
        from cameras.live import get_live_metrics

        return get_live_metrics(camera_id)
    except Exception:  # noqa: BLE001 - live figures are optional in a listing
        return None


class CameraWriteSerializer(serializers.Serializer):
    """Fields an admin may set; the camera services validate the source and the rest."""

    name = serializers.CharField(max_length=100)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False)
    source = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    area_m2 = serializers.FloatField(min_value=0.5, max_value=1_000_000, required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    target_fps = serializers.FloatField(min_value=0.5, max_value=60, required=False)
    is_active = serializers.BooleanField(required=False)


class CameraPartialSerializer(CameraWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)


class ConnectionTestSerializer(serializers.Serializer):
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


class UploadSerializer(serializers.Serializer):
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
