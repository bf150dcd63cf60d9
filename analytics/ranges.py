"""Parsing of a requested time range: presets, ISO instants, bounds.

Input handling shared by the API's query serializers (`analytics.api.serializers`) and the
analytics page's form (`analytics.forms`); the selectors take the resolved UTC datetimes.
Errors are Django ValidationErrors keyed by field, which both DRF and forms show per field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_PRESET = "24h"
MAX_RANGE = timedelta(days=366)
BUCKETS = ("hourly", "daily", "weekly")

_SPACE_OFFSET = re.compile(r"(\d) (\d\d:?\d\d)$")
Instant = datetime | date | str | None


def _parse_text(value: str, *, end: bool) -> datetime:
    # A '+' of an offset arrives as a space when the query string was not encoded.
    text = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(text)
        parsed = datetime.combine(day, datetime.min.time()) + (timedelta(days=1) if end else timedelta())
    return parsed


def parse_instant(value: Instant, name: str, *, end: bool) -> datetime | None:
    """A UTC datetime from a datetime, a date or an ISO string; naive values are display-zone time.

    A bare date means the start of that day (or, for an end, the start of the next day).
    """
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, datetime.min.time()) + (timedelta(days=1) if end else timedelta())
    else:
        try:
            parsed = _parse_text(str(value), end=end)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValidationError(
                {name: f"'{value}' is not a date or time; use ISO 8601, e.g. 2025-01-31T18:00:00Z."}
            ) from exc
    if not datetime(1970, 1, 2) <= parsed.replace(tzinfo=None) <= datetime(9000, 1, 1):
        raise ValidationError({name: f"'{value}' is out of range."})
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
        except Exception as exc:  # noqa: BLE001 - a non-existent local time (DST gap)
            raise ValidationError({name: f"'{value}' does not exist in the display time zone."}) from exc
    return parsed.astimezone(UTC)


def resolve_range(
    preset: str | None, start: Instant = None, end: Instant = None
) -> tuple[datetime, datetime]:
    """The UTC [start, end) of a request: a preset (1h/24h/7d/30d, ending now) or explicit bounds.

    With only `start`, the range ends now; with only `end`, it covers the 24 h before it;
    with nothing, the last 24 h. Raises ValidationError with a field dict on bad input.
    """
    if preset not in (None, ""):
        if preset not in PRESETS:
            raise ValidationError({"preset": f"Unknown preset '{preset}'; use one of {', '.join(PRESETS)}."})
        if start not in (None, "") or end not in (None, ""):
            raise ValidationError({"preset": "Give either a preset or start/end, not both."})
        now = timezone.now().astimezone(UTC)
        return now - PRESETS[preset], now
    start_dt = parse_instant(start, "start", end=False)
    end_dt = parse_instant(end, "end", end=True)
    if end_dt is None:
        end_dt = timezone.now().astimezone(UTC)
    if start_dt is None:
        start_dt = end_dt - PRESETS[DEFAULT_PRESET]
    if start_dt >= end_dt:
        raise ValidationError({"end": "The end must be after the start."})
    if end_dt - start_dt > MAX_RANGE:
        raise ValidationError({"start": f"A range may cover at most {MAX_RANGE.days} days."})
    return start_dt, end_dt
