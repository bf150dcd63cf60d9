"""Frame sinks: what the apps do with every analysed frame.

The runtime owns the frame path but knows none of its consumers. Each app registers its sink
factories in its `AppConfig.ready()` (cameras: recording, live frame, live push; analytics:
per-second metrics; alerts: the rules), and
`settings.CROWDSAFE_FRAME_SINKS` names, in order, the sinks every runner must have: one
that is not registered fails `manage.py check` and every runner (its camera shows the error),
instead of silently turning a feature off; a sink module that fails to import fails the
process at start.

Every frame goes to the sinks with the per-camera context (camera, zones, runtime settings)
that the runner rebuilds at each heartbeat, so no sink looks the camera up on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from cameras.models import Camera, Zone
from core.models import RuntimeSettings
from core.runtime_settings import get_runtime_settings

if TYPE_CHECKING:  # the engine loads OpenCV and scikit-learn: web processes import this module too
    import numpy as np

    from analytics.engine import FrameResult


@dataclass(frozen=True)
class CameraContext:
    """What sinks know about the camera; rebuilt at each heartbeat (zones edited live apply
    within one heartbeat)."""

    camera: Camera
    zones: dict[int, Zone]
    settings: RuntimeSettings

    @classmethod
    def load(cls, camera: Camera) -> CameraContext:
        # `camera.zones` is prefetched by the runner's heartbeat query.
        return cls(camera, {z.pk: z for z in camera.zones.all()}, get_runtime_settings())


@dataclass
class FrameOutput:
    """One analysed frame as the sinks see it."""

    result: FrameResult
    jpeg: Callable[[], bytes]  # the annotated frame as JPEG, encoded on first use only
    annotated: np.ndarray | None = None  # the annotated frame (BGR)
    wall: datetime | None = None  # UTC time of the frame (origin + video time)
    heatmap_jpeg: Callable[[], bytes] = bytes  # the heatmap view as JPEG, rendered on demand
    raw_jpeg: Callable[[], bytes] = bytes  # the frame as it came, unannotated (zone editor)
    light_jpeg: Callable[[], bytes] = bytes  # boxes and risk badge only, small: wall tiles

    @cached_property
    def payload(self) -> dict[str, Any]:
        """The result without per-person data, serialised once per frame for every sink."""
        return self.result.to_dict(include_persons=False)


@dataclass(frozen=True)
class SinkStart:
    """What a sink gets when a runner starts."""

    camera_id: int
    origin: datetime  # UTC datetime of source time 0
    fence: Callable[[], bool] | None = None  # False: another runner owns the camera now
    on_written: Callable[[int], None] | None = None  # a file's position, stored with its rows
    record_fps: float = 10.0  # frames per second the recording is written at
    on_recording_error: Callable[[str | None], None] | None = None  # a message, None when over


class FrameSink:
    """Base class: every method is optional. Exceptions are caught (and logged, throttled) by
    the pipeline: a failing sink never stops the analysis."""

    fenced: bool = False  # True once the sink found that another runner owns the camera

    def on_frame(self, context: CameraContext, frame: FrameOutput) -> None:
        """Called for every analysed frame, in the runner's process."""

    def on_heartbeat(self, context: CameraContext) -> None:
        """Called at each heartbeat (every few seconds): write batches, checkpoint state."""

    def discard(self) -> None:
        """The lease is lost: drop what is buffered and write nothing more."""

    def close(self) -> None:
        """The runner ends: write what is left."""


SinkFactory = Callable[[SinkStart], FrameSink]
_factories: dict[str, SinkFactory] = {}


def register(name: str, factory: SinkFactory) -> None:
    """Register a sink; call it from the owning app's `AppConfig.ready()`."""
    if _factories.get(name, factory) is not factory:
        raise ImproperlyConfigured(f"Frame sink {name!r} is registered twice.")
    _factories[name] = factory


def registered() -> list[str]:
    return list(_factories)


def missing_sinks() -> list[str]:
    return [name for name in settings.CROWDSAFE_FRAME_SINKS if name not in _factories]


def build(start: SinkStart) -> list[tuple[str, FrameSink]]:
    """The runner's sinks, in the order of `CROWDSAFE_FRAME_SINKS`."""
    missing = missing_sinks()
    if missing:
        raise ImproperlyConfigured(
            f"Frame sinks {missing} are listed in CROWDSAFE_FRAME_SINKS but no app registered them "
            f"(registered: {registered()}); is the app in INSTALLED_APPS?"
        )
    return [(name, _factories[name](start)) for name in settings.CROWDSAFE_FRAME_SINKS]


def check_sinks(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """System check: every listed sink is registered (runs at start and in `manage.py check`)."""
    return [
        checks.Error(
            f"Frame sink {name!r} is listed in CROWDSAFE_FRAME_SINKS but no app registered it.",
            hint="The app that owns it registers it in AppConfig.ready(); is it in INSTALLED_APPS?",
            id="cameras.E001",
        )
        for name in missing_sinks()
    ]
