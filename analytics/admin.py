from django.contrib import admin

from analytics.models import Metric


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "camera", "zone", "count", "density", "avg_speed", "risk_score",
                    "risk_level", "count_quality")
    list_filter = ("risk_level", "count_quality", "camera")
    list_select_related = ("camera", "zone")
    show_full_result_count = False  # counting millions of rows on every page is slow
    readonly_fields = [f.name for f in Metric._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Measurements leave only by retention, which also drops their hourly rollups.
        return False
