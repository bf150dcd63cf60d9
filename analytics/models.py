from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class RiskLevel(models.TextChoices):
    SAFE = "SAFE", "Safe"
    CAUTION = "CAUTION", "Caution"
    WARNING = "WARNING", "Warning"
    CRITICAL = "CRITICAL", "Critical"


class CountQuality(models.TextChoices):
    """How far the count can be trusted (see core.count_quality for the reasons)."""

    OK = "ok", "OK"
    DEGRADED = "degraded", "Degraded"
    UNRELIABLE = "unreliable", "Unreliable"


class Trend(models.TextChoices):
    RISING = "rising", "Rising"
    STABLE = "stable", "Stable"
    FALLING = "falling", "Falling"


_fraction = [MinValueValidator(0.0), MaxValueValidator(1.0)]
_non_negative = [MinValueValidator(0.0)]


class Metric(models.Model):
    """One second of video time for a camera (zone empty) or one of its zones.

    Values aggregate the frames processed in that second: count is the rounded mean,
    count_max the peak, speeds are in m/s, density in people per m², scores 0..1, pressure
    in s⁻² (Helbing). Count quality is the worst of the second's frames, its reasons their
    union, the undercount factor their largest.
    """

    camera = models.ForeignKey("cameras.Camera", on_delete=models.CASCADE, related_name="metrics")
    zone = models.ForeignKey(
        "cameras.Zone", on_delete=models.CASCADE, null=True, blank=True, related_name="metrics"
    )
    timestamp = models.DateTimeField(help_text="Start of the second (UTC).")
    frames = models.PositiveSmallIntegerField(default=1)
    count = models.PositiveIntegerField(default=0)
    count_max = models.PositiveIntegerField(default=0)
    density = models.FloatField("density (p/m²)", default=0, validators=_non_negative)
    avg_speed = models.FloatField("average speed (m/s)", default=0, validators=_non_negative)
    max_speed = models.FloatField("maximum speed (m/s)", default=0, validators=_non_negative)
    surge = models.FloatField(default=0, validators=_fraction)
    flow_in = models.PositiveIntegerField(default=0)
    flow_out = models.PositiveIntegerField(default=0)
    risk_score = models.FloatField(default=0, validators=_fraction)
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices, default=RiskLevel.SAFE)
    clusters = models.PositiveIntegerField(default=0)
    flow_coherence = models.FloatField(default=0, validators=_fraction)
    pressure = models.FloatField(
        "pressure (s⁻²)",
        default=0,
        validators=_non_negative,
        help_text="Helbing crowd pressure: local density × local velocity variance; "
        "turbulence sets in around 0.02 s⁻².",
    )
    anomalies = models.PositiveIntegerField(default=0)
    density_trend = models.CharField(max_length=8, choices=Trend.choices, default=Trend.STABLE)
    risk_trend = models.CharField(max_length=8, choices=Trend.choices, default=Trend.STABLE)
    calibrated = models.BooleanField(default=False)
    count_quality = models.CharField(
        max_length=10, choices=CountQuality.choices, default=CountQuality.OK,
        help_text="The worst count quality of the second's frames.",
    )
    quality_reasons = models.JSONField(
        default=list, blank=True, help_text="Why the count was not ok (union over the second)."
    )
    undercount_factor = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(1.0)],
        help_text="The true count is about count × this (largest of the second); empty: unknown.",
    )
    tiled = models.BooleanField(default=False, help_text="Sliced inference ran on a frame of the second.")

    class Meta:
        ordering = ["camera", "timestamp"]
        indexes = [
            # Time-range queries per camera and per zone (zone IS NULL for the whole camera).
            models.Index(fields=["camera", "zone", "timestamp"], name="metric_camera_zone_time"),
            models.Index(fields=["timestamp"], name="metric_time"),  # retention sweeps
        ]
        # One row per camera (or zone) and second, whatever a writer does: two partial
        # constraints, since NULL zones never collide in a plain unique index.
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "timestamp"], condition=models.Q(zone__isnull=True),
                name="metric_unique_camera_second",
            ),
            models.UniqueConstraint(
                fields=["camera", "zone", "timestamp"], condition=models.Q(zone__isnull=False),
                name="metric_unique_zone_second",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera_id}@{self.timestamp:%Y-%m-%d %H:%M:%S}"


class MetricHour(models.Model):
    """One sealed UTC hour of a camera's (or a zone's) Metric rows, as 15-minute partial sums.

    Derived data, kept by `analytics.rollups`: long ranges read 24 of these a day instead of
    86,400 rows. Written by the sealing task once the hour is over (never by a read); dropped when
    rows are written into an hour late, so it is recomputed from the rows.
    """

    camera = models.ForeignKey("cameras.Camera", on_delete=models.CASCADE, related_name="+")
    # The zone id, 0 for the whole camera: a plain number, so the unique key has no NULL.
    zone_key = models.PositiveBigIntegerField(default=0)
    hour = models.DateTimeField()
    partials = models.JSONField(default=dict, help_text="{epoch of quarter: [n, sums, peaks ...]}")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["camera", "zone_key", "hour"], name="metric_hour_unique")
        ]
        indexes = [models.Index(fields=["hour"], name="metric_hour_time")]  # retention sweeps

    def __str__(self) -> str:
        return f"{self.camera_id}/{self.zone_key}@{self.hour:%Y-%m-%d %H:00}"
