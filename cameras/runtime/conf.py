"""Tunables of the camera runtime, read from settings (defined and validated in settings.py).

Functions rather than constants: tests change a setting for one test, and the value is read
where it is used.
"""

from __future__ import annotations

from django.conf import settings


def _value(name: str) -> float:
    return float(getattr(settings, name))


def _flag(name: str) -> bool:
    return bool(getattr(settings, name))


def lease_ttl_s() -> float:
    return _value("CROWDSAFE_CAMERA_LEASE_TTL_S")


def heartbeat_s() -> float:
    return _value("CROWDSAFE_CAMERA_HEARTBEAT_S")


def watchdog_s() -> float:
    """No frame from a live source for this long: drop the connection and reconnect."""
    return _value("CROWDSAFE_NO_FRAME_WATCHDOG_S")


def open_timeout_s() -> float:
    return _value("CROWDSAFE_SOURCE_OPEN_TIMEOUT_S")


def reconnect_initial_s() -> float:
    return _value("CROWDSAFE_RECONNECT_INITIAL_S")


def reconnect_max_s() -> float:
    return _value("CROWDSAFE_RECONNECT_MAX_S")


def slot_release_backoff_s() -> float:
    """A live source down with a reconnect backoff this long gives its stream slot back."""
    return _value("CROWDSAFE_SLOT_RELEASE_BACKOFF_S")


def pace_files() -> bool:
    """Play file sources in real time (a demo) instead of as fast as the machine allows."""
    return _flag("CROWDSAFE_PACE_FILES")


def live_push_hz() -> float:
    return _value("CROWDSAFE_LIVE_PUSH_HZ")


def live_frame_hz() -> float:
    """How often the latest annotated frame is encoded for viewers (MJPEG polls 20 times a second)."""
    return _value("CROWDSAFE_LIVE_FRAME_HZ")


def live_jpeg_quality() -> int:
    return int(_value("CROWDSAFE_LIVE_JPEG_QUALITY"))


def live_max_width() -> int:
    return int(_value("CROWDSAFE_LIVE_MAX_WIDTH"))


def recording_segment_s() -> float:
    return _value("CROWDSAFE_RECORDING_SEGMENT_SECONDS")


def recordings_enabled() -> bool:
    return _flag("CROWDSAFE_RECORDINGS_ENABLED")


def recording_min_free_mb() -> float:
    """Below this much free disk, recording pauses (the analysis goes on)."""
    return _value("CROWDSAFE_RECORDING_MIN_FREE_MB")


def cameras_per_process() -> int:
    """Cameras one streams worker process hosts, sharing one batching detector."""
    return int(_value("CROWDSAFE_CAMERAS_PER_PROCESS"))


def decode_isolated() -> bool:
    """Decode each source in a child process (cameras/capture.py), so a decoder crash or hang
    costs one camera, not every camera of a shared process."""
    return _flag("CROWDSAFE_DECODE_ISOLATION")
