"""The camera page's live chart seed (the camera app's page shows analytics' figures)."""

from __future__ import annotations

from typing import Any

from django import template

from analytics.presenters import live_chart_seed as _live_chart_seed

register = template.Library()


@register.simple_tag
def live_chart_seed(camera) -> list[dict[str, Any]]:
    return _live_chart_seed(camera)
