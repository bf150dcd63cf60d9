"""Times for the browser: UTC instants it relabels in the viewer's own zone."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(value: datetime) -> str:
    """`2026-03-14T12:00:05Z`: an aware time as UTC, to the second (what the pages' scripts parse)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
