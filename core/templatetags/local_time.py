"""`{% local_time value "d M Y H:i:s" %}`: a time every viewer reads in their own zone.

It renders `<time datetime="…Z" data-local-time title="… UTC">` around the time formatted on
the server (the display zone: the fallback without JavaScript); static/js/crowdsafe.js
rewrites the text in the browser's zone with Intl.DateTimeFormat, the title keeps UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from core.times import utc_iso

register = template.Library()

STYLES = {"d M Y H:i:s": "datetime", "d M H:i:s": "datetime-short", "d M Y H:i": "minutes", "H:i": "clock"}


@register.simple_tag
def local_time(value, fmt: str = "d M Y H:i:s", empty: str = "—"):
    if not isinstance(value, datetime):
        return empty
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    utc = value.astimezone(UTC)
    shown = date_format(timezone.localtime(value), fmt)
    return format_html(
        '<time datetime="{}" data-local-time="{}" title="{} UTC">{}</time>',
        utc_iso(utc),
        STYLES.get(fmt, "datetime"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        shown,
    )


@register.filter
def as_datetime(value) -> datetime | None:
    """A datetime as is, an ISO string (a live event's) parsed; anything else None."""
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) and value else None
