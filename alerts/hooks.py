"""The alert rules run on one frame: `on_frame` (never raises) and `process_frame`.

The camera runner calls them through its alerts sink (alerts.sinks) with the per-camera
context (zones, runtime settings) and the rule state it keeps in memory: no query and no
Redis round trip per frame. Called alone (tests, tools), they load zones and settings and
load and save the rule state themselves. The database is written only when something
happens (raise, escalation, all-clear, a peak every 5 s of video while an alert is active).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from alerts import clips, services, state
from alerts.rules import Action, KeyState, Thresholds, ZoneLimits, evaluate, merge_peak, step
from cameras.models import Zone
from core.runtime_settings import get_runtime_settings

logger = logging.getLogger("alerts")

ERROR_LOG_EVERY_S = 30.0

_lock = threading.Lock()
_last_error_log: dict[int, float] = {}

# Zones by id (as text), each with its density limits.
ZoneMap = dict[str, tuple[Any, ZoneLimits]]


# The annotated frame as JPEG, or a callable that encodes it (only when an alert needs it).
Snapshot = bytes | Callable[[], bytes] | None


def on_frame(camera, result, annotated_jpeg: Snapshot, **context: Any) -> list[Action]:
    """Run the alert rules on one processed frame (a FrameResult or its ``to_dict()``);
    `context` as for `process_frame`. Returns what was done ([] after a failure)."""
    try:
        return process_frame(camera, result, annotated_jpeg, **context)
    except Exception:  # noqa: BLE001 - never take the camera down; say so (throttled)
        camera_id = getattr(camera, "pk", None)
        now = time.monotonic()
        with _lock:
            due = now - _last_error_log.get(camera_id, -ERROR_LOG_EVERY_S) >= ERROR_LOG_EVERY_S
            if due:
                _last_error_log[camera_id] = now
        if due:
            logger.exception("Alert rules failed for camera %s", camera_id)
        return []


def process_frame(
    camera,
    result,
    annotated_jpeg: Snapshot,
    *,
    now: float | None = None,
    zones: ZoneMap | None = None,
    settings: Any = None,
    cam_state: state.CameraState | None = None,
) -> list[Action]:
    """`on_frame` without the safety net. `zones` (see `zone_map`) and `settings` come from the
    runner's per-camera context, else they are read here. With `cam_state` (the runner's, kept
    in memory) the caller saves the state; without, it is loaded and saved here. `now` (wall
    clock, epoch s) is for tests."""
    s = settings if settings is not None else get_runtime_settings()
    if not s.alerts_enabled:
        return []
    if isinstance(result, dict):
        frame = {k: v for k, v in result.items() if k != "persons"}
    else:
        frame = result.to_dict(include_persons=False)
    ts = float(frame.get("timestamp") or 0.0)
    now = time.time() if now is None else now
    th = Thresholds.from_settings(s)
    if zones is None:
        zones = zone_map(Zone.objects.filter(camera_id=camera.pk))
    observations = evaluate(frame, th, {zone_id: limits for zone_id, (_, limits) in zones.items()})
    standalone = cam_state is None
    if cam_state is None:
        cam_state = state.load(camera.pk, ts)
    else:
        state.follow_clock(cam_state, ts)
    done: list[Action] = []
    failure: Exception | None = None
    for obs in observations:
        st = cam_state.keys.get(obs.key)
        if st is None:
            st = cam_state.keys[obs.key] = KeyState()
        before = copy.deepcopy(st)
        for action in step(st, obs, ts, now, th):
            try:
                _apply(camera, action, st, frame, annotated_jpeg, zones, th)
            except Exception as exc:  # noqa: BLE001 - this key retries next frame; the others go on
                cam_state.keys[obs.key] = before
                failure = failure or exc
                break
            done.append(action)
    if standalone:
        state.save(cam_state, ts, now, th.cooldown_s)
    if failure is not None:
        raise failure
    return done


def _apply(
    camera, action: Action, st: KeyState, frame: dict, snapshot: Snapshot, zones: dict, th: Thresholds
) -> None:
    obs = action.observation
    # Only a new or escalated alert keeps a picture: encode the frame for those alone.
    jpeg = snapshot() if callable(snapshot) and action.kind in ("raise", "escalate") else snapshot
    if action.kind == "raise":
        _raise(camera, st, obs, frame, jpeg, zones)
    elif action.kind == "escalate":
        if services.escalate_alert(action.alert_id, obs, peak=action.peak, jpeg=jpeg) is None:
            state.untrack(st)  # resolved meanwhile: a new alert at the higher level
            _raise(camera, st, obs, frame, jpeg, zones)
    elif action.kind == "reactivate":
        if services.reactivate_alert(action.alert_id, obs, peak=action.peak) is None:
            state.untrack(st)  # resolved meanwhile; fires again once the cooldown ends
    elif action.kind == "peak":
        if not services.record_peak(action.alert_id, action.peak, changed=action.peak_changed):
            state.untrack(st)
    elif action.kind == "all_clear":
        cleared = services.mark_all_clear(
            action.alert_id, peak=action.peak, safe_for_s=th.all_clear_after_s, trigger=obs.trigger
        )
        if cleared is None:
            state.untrack(st)


def _raise(camera, st: KeyState, obs, frame: dict, jpeg: bytes | None, zones: dict) -> None:
    zone = zones.get(str(obs.zone_id), (None, None))[0] if obs.zone_id is not None else None
    alert = services.raise_alert(camera, obs, frame=frame, jpeg=jpeg, zone=zone)
    clips.alert_raised(camera.pk, alert.pk)  # the runner's clip sink cuts its clip
    st.alert_id = alert.pk
    st.level = obs.level
    st.peak = {}
    merge_peak(st.peak, obs.figures)


def zone_map(zones) -> ZoneMap:
    """Zones by id (as text) with their density limits, as the rules look them up."""
    return {str(z.pk): (z, ZoneLimits(z.name, z.density_warning, z.density_critical)) for z in zones}


def forget_caches() -> None:
    """Forget which cameras' failures were logged lately (tests)."""
    with _lock:
        _last_error_log.clear()
