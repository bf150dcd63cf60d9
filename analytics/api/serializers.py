"""Query serializers (parse and validate a request) and the shapes of the metrics answers.

The query serializers turn a request into what the selectors take: `validated_data` holds the
camera, the zone (a Zone of that camera or None) and the UTC `start` / `end`, plus each view's
own options. They need `context={"camera_id": ...}`. Checks run in the order the API has
always answered them: parameter types, then the camera (404), its zone, then the range.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from analytics.ranges import BUCKETS, PRESETS, resolve_range
from cameras.models import Camera, Zone
from core.api.base import get_or_404

EXPORT_FORMATS = ("csv", "docx", "pdf", "md")


class RangeQuerySerializer(serializers.Serializer):
    preset = serializers.ChoiceField(
        choices=list(PRESETS),
        required=False,
        help_text="1h, 24h, 7d or 30d before now (instead of start/end).",
    )
    start = serializers.CharField(
        required=False, max_length=40, help_text="ISO 8601; without an offset it is display-zone time."
    )
    end = serializers.CharField(required=False, max_length=40, help_text="ISO 8601 (exclusive); default now.")
    zone = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="A zone of this camera; default the whole view.",
    )

    def validate(self, attrs: dict) -> dict:
        camera = get_or_404(Camera, self.context["camera_id"])
        zone = None
        if attrs.get("zone") is not None:
            zone = Zone.objects.filter(pk=attrs["zone"], camera=camera).first()
            if zone is None:
                raise ValidationError({"zone": [f"Camera {camera.pk} has no zone {attrs['zone']}."]})
        start, end = resolve_range(attrs.get("preset"), attrs.get("start"), attrs.get("end"))
        return {**attrs, "camera": camera, "zone": zone, "start": start, "end": end}


class HistoryQuerySerializer(RangeQuerySerializer):
    max_points = serializers.IntegerField(required=False, min_value=10, max_value=5000, default=1000)
    limit = serializers.IntegerField(
        required=False, min_value=10, max_value=5000, help_text="Same as max_points (original name)."
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["max_points"] = attrs.get("limit") or attrs["max_points"]
        return attrs


class AggregateQuerySerializer(RangeQuerySerializer):
    interval = serializers.ChoiceField(choices=list(BUCKETS), required=False, default="hourly")
    bucket = serializers.ChoiceField(choices=list(BUCKETS), required=False, help_text="Same as interval.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        attrs["interval"] = attrs.get("bucket") or attrs["interval"]
        return attrs


class ExportQuerySerializer(RangeQuerySerializer):
    format = serializers.ChoiceField(choices=list(EXPORT_FORMATS), required=False, default="csv")
    max_rows = serializers.IntegerField(
        required=False,
        min_value=10,
        max_value=2000,
        default=500,
        help_text="Rows of the DOCX/PDF/MD data table; longer ranges are averaged into buckets. "
        "CSV always has every stored second.",
    )


def parse_metrics_query(serializer_class: type[RangeQuerySerializer], request, camera_id: int) -> dict:
    """The validated query of a metrics request about camera `camera_id` (400 / 404 on bad input)."""
    serializer = serializer_class(data=request.query_params, context={"camera_id": camera_id})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- answers (documentation of the shapes `analytics.presenters` builds) ---------------------


class HistoryPointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    samples = serializers.IntegerField(help_text="Seconds of data in this point.")
    count = serializers.FloatField()
    count_max = serializers.IntegerField()
    density = serializers.FloatField(help_text="People per m² (mean).")
    density_max = serializers.FloatField()
    avg_speed = serializers.FloatField(help_text="m/s")
    max_speed = serializers.FloatField(help_text="m/s")
    risk_score = serializers.FloatField(help_text="0..1 (mean)")
    risk_max = serializers.FloatField()
    risk_level = serializers.CharField(help_text="Worst level in the bucket.")
    flow_in = serializers.IntegerField()
    flow_out = serializers.IntegerField()
    count_quality = serializers.ChoiceField(
        choices=["ok", "degraded", "unreliable"], help_text="Worst count quality in the bucket."
    )
    quality_seconds = serializers.DictField(
        child=serializers.IntegerField(), help_text="Seconds of the bucket per count quality."
    )
    quality_reasons = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Raw rows only (step_seconds 1)."
    )
    undercount_factor = serializers.FloatField(
        allow_null=True, help_text="Largest in the bucket: the true count is about count × this."
    )
    estimated_count = serializers.IntegerField(allow_null=True, help_text="count × undercount_factor")
    tiled = serializers.BooleanField(help_text="Sliced inference ran in the bucket.")


class HistorySerializer(serializers.Serializer):
    camera_id = serializers.IntegerField()
    zone_id = serializers.IntegerField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    step_seconds = serializers.IntegerField(help_text="Bucket size; 1 means raw rows.")
    points = HistoryPointSerializer(many=True)


class SummarySerializer(serializers.Serializer):
    camera_id = serializers.IntegerField()
    zone_id = serializers.IntegerField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    total_records = serializers.IntegerField()
    avg_count = serializers.FloatField()
    peak_count = serializers.IntegerField()
    avg_density = serializers.FloatField()
    max_density = serializers.FloatField()
    avg_velocity = serializers.FloatField()
    max_velocity = serializers.FloatField()
    avg_risk = serializers.FloatField()
    max_risk_score = serializers.FloatField()
    max_risk_level = serializers.CharField(allow_null=True)
    max_surge = serializers.FloatField()
    flow_in_total = serializers.IntegerField()
    flow_out_total = serializers.IntegerField()
    seconds_by_level = serializers.DictField(child=serializers.IntegerField())
    seconds_by_quality = serializers.DictField(
        child=serializers.IntegerField(), help_text="Seconds per count quality: ok, degraded, unreliable."
    )
    share_by_quality = serializers.DictField(
        child=serializers.FloatField(), help_text="Share (0..1) of the seconds per count quality."
    )
    max_undercount_factor = serializers.FloatField(allow_null=True)
    tiled_seconds = serializers.IntegerField(help_text="Seconds in which sliced inference ran.")


class AggregateBucketSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField()
    sample_count = serializers.IntegerField()
    avg_count = serializers.FloatField()
    max_count = serializers.IntegerField()
    avg_density = serializers.FloatField()
    max_density = serializers.FloatField()
    avg_velocity = serializers.FloatField()
    max_velocity = serializers.FloatField()
    avg_risk = serializers.FloatField()
    max_risk = serializers.FloatField()
    max_risk_level = serializers.CharField(allow_null=True)
    flow_in = serializers.IntegerField()
    flow_out = serializers.IntegerField()
    count_quality = serializers.CharField(help_text="Worst count quality in the bucket.")
    seconds_by_quality = serializers.DictField(child=serializers.IntegerField())
    max_undercount_factor = serializers.FloatField(allow_null=True)


class AggregateSerializer(serializers.Serializer):
    camera_id = serializers.IntegerField()
    zone_id = serializers.IntegerField(allow_null=True)
    interval = serializers.CharField()
    time_zone = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    buckets = AggregateBucketSerializer(many=True)
