from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from analytics.models import RiskLevel


class AlertLevel(models.TextChoices):
    WARNING = RiskLevel.WARNING.value, "Warning"
    CRITICAL = RiskLevel.CRITICAL.value, "Critical"


class AlertTrigger(models.TextChoices):
    RISK_LEVEL = "risk_level", "Risk level"
    DENSITY = "density", "Density over threshold"
    SURGE = "surge", "Sudden surge"
    STAGNATION = "stagnation", "Stagnation with high density"
    COUNT_UNRELIABLE = "count_unreliable", "Count unreliable"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class NotificationState(models.TextChoices):
    DISABLED = "disabled", "Not sent (notifications off)"
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


def snapshot_upload_to(instance: Alert, filename: str) -> str:
    return f"snapshots/{instance.camera_id}/{filename}"


class Alert(models.Model):
    camera = models.ForeignKey("cameras.Camera", on_delete=models.CASCADE, related_name="alerts")
    zone = models.ForeignKey(
        "cameras.Zone", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    level = models.CharField(max_length=8, choices=AlertLevel.choices, db_index=True)
    trigger = models.CharField(max_length=16, choices=AlertTrigger.choices)
    message = models.TextField()
    metrics = models.JSONField(default=dict, blank=True, help_text="Figures when it was raised.")
    peak_metrics = models.JSONField(default=dict, blank=True, help_text="Peak figures while it held.")
    snapshot = models.ImageField(upload_to=snapshot_upload_to, max_length=500, blank=True)
    video_time_s = models.FloatField(null=True, blank=True, help_text="Source clock when raised.")
    # The event clip (alerts/clips.py): annotated video around the trigger. Alerts raised
    # within one clip's window share its file.
    clip = models.FileField(max_length=500, blank=True)
    clip_start_s = models.FloatField(
        null=True, blank=True, help_text="Source clock of the clip's first frame."
    )
    clip_duration_s = models.FloatField(null=True, blank=True, help_text="Seconds of video the clip covers.")

    status = models.CharField(
        max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolve_note = models.TextField(blank=True)
    all_clear_at = models.DateTimeField(
        null=True, blank=True, help_text="When conditions returned to SAFE (still needs resolving)."
    )

    notification_state = models.CharField(
        max_length=8, choices=NotificationState.choices, default=NotificationState.DISABLED
    )
    notification_error = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["camera", "-created_at"], name="alert_camera_time"),
            models.Index(fields=["status", "-created_at"], name="alert_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.get_trigger_display()} @ {self.camera}"

    def get_absolute_url(self) -> str:
        return reverse("alert_detail", args=[self.pk])

    # Media is never public: these role-checked endpoints serve it (core/media.py).
    @property
    def snapshot_url(self) -> str | None:
        return reverse("alert-snapshot", args=[self.pk]) if self.snapshot else None

    @property
    def clip_url(self) -> str | None:
        return reverse("alert-clip", args=[self.pk]) if self.clip else None

    @property
    def clip_trigger_s(self) -> float | None:
        """Where the trigger lies in the clip (seconds from its start)."""
        if self.clip_start_s is None or self.video_time_s is None:
            return None
        return round(max(self.video_time_s - self.clip_start_s, 0.0), 3)


class AlertEvent(models.Model):
    """The audit trail of an alert: every step, who took it and when."""

    class Action(models.TextChoices):
        RAISED = "raised", "Raised"
        UPDATED = "updated", "Updated (peak)"
        ESCALATED = "escalated", "Escalated"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        ALL_CLEAR = "all_clear", "All clear"
        NOTIFIED = "notified", "Notification sent"
        NOTIFY_FAILED = "notify_failed", "Notification failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action}"
