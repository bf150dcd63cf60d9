"""Filter fields shared by the API's filter sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField

_EARLIEST, _LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with a real UTC offset (at most ±14 h) and a year the database can store."""

    def clean(self, value):
        parsed = super().clean(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > timedelta(hours=14):
            raise forms.ValidationError("The UTC offset must be between -14:00 and +14:00.")
        try:
            in_utc = parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("The date is out of range.") from exc
        if not _EARLIEST <= in_utc <= _LATEST:
            raise forms.ValidationError("Use a date between 1970 and 9000.")
        return in_utc


class DateTimeFilter(IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
