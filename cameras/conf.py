"""Tunables of the camera runtime: a Django setting when defined, else the environment, else a default.

(The environment fallback lets tests and benchmarks shorten timings for the worker they start.)
"""

from __future__ import annotations

import os

from django.conf import settings


def _value(name: str, default: float) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    if hasattr(settings, name):
        return bool(getattr(settings, name))
    raw = os.environ.get(name)
    return default if raw in (None, "") else raw.strip().lower() in ("1", "true", "yes", "on")


def lease_ttl_s() -> float:
    return _value("CROWDSAFE_CAMERA_LEASE_TTL_S", 15.0)


def heartbeat_s() -> float:
    return _value("CROWDSAFE_CAMERA_HEARTBEAT_S", 2.0)


def watchdog_s() -> float:
    """No frame from a live source for this long: drop the connection and reconnect."""
    return _value("CROWDSAFE_NO_FRAME_WATCHDOG_S", 20.0)


def open_timeout_s() -> float:
    return _value("CROWDSAFE_SOURCE_OPEN_TIMEOUT_S", 10.0)


def reconnect_initial_s() -> float:
    return _value("CROWDSAFE_RECONNECT_INITIAL_S", 1.0)


def reconnect_max_s() -> float:
    return _value("CROWDSAFE_RECONNECT_MAX_S", 30.0)


def slot_release_backoff_s() -> float:
    """A live source down with a reconnect backoff this long gives its stream slot back."""
    return _value("CROWDSAFE_SLOT_RELEASE_BACKOFF_S", 8.0)


def pace_files() -> bool:
    """Play file sources in real time (a demo) instead of as fast as the machine allows."""
    return _flag("CROWDSAFE_PACE_FILES", False)


def live_push_hz() -> float:
    return _value("CROWDSAFE_LIVE_PUSH_HZ", 2.0)


def live_frame_hz() -> float:
    """How often the latest annotated frame is encoded for viewers (MJPEG polls 20 times a second)."""
    return _value("CROWDSAFE_LIVE_FRAME_HZ", 15.0)


def live_jpeg_quality() -> int:
    return int(_value("CROWDSAFE_LIVE_JPEG_QUALITY", 80))


def live_max_width() -> int:
    return int(_value("CROWDSAFE_LIVE_MAX_WIDTH", 1280))


def recording_segment_s() -> float:
    return _value("CROWDSAFE_RECORDING_SEGMENT_SECONDS", 300.0)


def recordings_enabled() -> bool:
    return _flag("CROWDSAFE_RECORDINGS_ENABLED", True)
