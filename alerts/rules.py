"""The alert rules as plain functions: what holds in a frame, and what to do about it.

No Django, no Redis: `evaluate()` turns one frame's figures (``FrameResult.to_dict()``) into
an `Observation` per camera/zone and trigger; `step()` advances the rule state of one key
and says which `Action` the caller must carry out (raise, escalate, ...).

Clocks, and why:
- debounce and the SAFE period run on the **video clock** (the frame timestamps), so a file
  analysed five times faster than real time raises the same alerts as a live feed;
- the cooldown runs on the **wall clock**, because the video clock starts again at zero when a
  runner restarts or a file is replayed, and a restart must not fire again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

WARNING = "WARNING"
CRITICAL = "CRITICAL"
SAFE = "SAFE"
_RANK = {None: 0, "SAFE": 0, "CAUTION": 1, WARNING: 2, CRITICAL: 3}

RISK_LEVEL, DENSITY, SURGE, STAGNATION = "risk_level", "density", "surge", "stagnation"
# The count itself cannot be trusted (engine count quality "unreliable"): SAFE may be wrong.
COUNT_UNRELIABLE = "count_unreliable"
# The risk level comes after the crowd triggers: it only fires for what they do not explain.
# Count quality is per camera, so only the camera scope has that trigger.
CAMERA_TRIGGERS = (DENSITY, SURGE, STAGNATION, RISK_LEVEL, COUNT_UNRELIABLE)
ZONE_TRIGGERS = (DENSITY, RISK_LEVEL)  # zones have no surge / stagnation figures of their own

PEAK_FLUSH_S = 5.0  # video seconds between peak writes (and resolved checks) of an open alert
PEAK_KEYS = (
    "count", "density", "risk_score", "surge", "pressure", "flow_coherence", "max_speed",
    "estimated_count", "undercount_factor",
)


def rank(level: str | None) -> int:
    return _RANK.get(level, 0)


@dataclass(frozen=True)
class Thresholds:
    density_warning: float = 4.0
    density_critical: float = 6.0
    surge_threshold: float = 0.6
    surge_min_density: float = 0.5
    debounce_s: float = 2.0
    cooldown_s: float = 60.0
    all_clear_after_s: float = 30.0

    @classmethod
    def from_settings(cls, s: Any) -> Thresholds:
        """From `core.models.RuntimeSettings`."""
        return cls(
            density_warning=s.density_warning,
            density_critical=s.density_critical,
            surge_threshold=s.surge_threshold,
            surge_min_density=s.surge_min_density,
            debounce_s=s.alert_debounce_s,
            cooldown_s=float(s.alert_cooldown_s),
            all_clear_after_s=float(s.all_clear_after_s),
        )

    @property
    def surge_critical(self) -> float:
        # Half-way from the threshold to 1 (0.8 with the default 0.6, the original's figure).
        return (1.0 + self.surge_threshold) / 2.0

    @property
    def dropout_tolerance_s(self) -> float:
        # A dropout this short (a missed detection or two) does not restart the debounce.
        return self.debounce_s / 4.0


@dataclass(frozen=True)
class ZoneLimits:
    """A zone's density overrides (None: the global threshold)."""

    name: str = ""
    density_warning: float | None = None
    density_critical: float | None = None


@dataclass(frozen=True)
class Observation:
    """One trigger of one scope (the whole camera or a zone) in one frame."""

    key: str  # "<zone id or '-'>:<trigger>"
    zone_id: int | str | None
    trigger: str
    level: str | None  # WARNING / CRITICAL while the condition holds, else None
    clear: bool  # the scope is back at SAFE and the condition does not hold
    figures: dict[str, Any]  # flat figures of the scope (zone figures win over the camera's)
    threshold: float | None = None  # the threshold crossed, for the message


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _level_over(value: float, warning: float, critical: float) -> str | None:
    if value >= critical:
        return CRITICAL
    if value >= warning:
        return WARNING
    return None


def _quality(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame's count quality, flat (absent in older payloads: ok)."""
    q = frame.get("count_quality")
    q = q if isinstance(q, dict) else {}
    level = q.get("level") if q.get("level") in ("ok", "degraded", "unreliable") else "ok"
    reasons = q.get("reasons")
    factor = q.get("undercount_factor")
    estimated = q.get("estimated_count")
    return {
        "count_quality": level,
        "quality_reasons": [r for r in reasons if isinstance(r, str)] if isinstance(reasons, list) else [],
        "undercount_factor": float(factor) if isinstance(factor, int | float) else None,
        "estimated_count": int(estimated) if isinstance(estimated, int | float) else None,
        "count_held": bool(q.get("held")),
    }


def _figures(frame: dict[str, Any], zone: dict[str, Any] | None) -> dict[str, Any]:
    figures = {
        "timestamp": _num(frame.get("timestamp")),
        "count": int(_num(frame.get("count"))),
        "density": _num(frame.get("density")),
        "avg_speed": _num(frame.get("avg_speed")),
        "max_speed": _num(frame.get("max_speed")),
        "surge": _num(frame.get("surge")),
        "count_rate": _num(frame.get("count_rate")),
        "risk_score": _num(frame.get("risk_score")),
        "risk_level": frame.get("risk_level") or SAFE,
        "pressure": _num(frame.get("pressure")),
        "flow_coherence": _num(frame.get("flow_coherence")),
        "stagnation": bool(frame.get("stagnation")),
        "calibrated": bool(frame.get("calibrated")),
        "zone_id": None,
        "zone_name": "",
        **_quality(frame),
    }
    if zone is not None:
        figures.update(
            count=int(_num(zone.get("count"))),
            density=_num(zone.get("density")),
            avg_speed=_num(zone.get("avg_speed")),
            risk_score=_num(zone.get("risk_score")),
            risk_level=zone.get("risk_level") or SAFE,
            zone_id=zone.get("id"),
            zone_name=str(zone.get("name") or ""),
        )
    return figures


def evaluate(
    frame: dict[str, Any], th: Thresholds, zone_limits: dict[Any, ZoneLimits] | None = None
) -> list[Observation]:
    """Every trigger of the camera and of each of its zones for one frame."""
    zone_limits = zone_limits or {}
    observations: list[Observation] = []
    zones = [z for z in frame.get("zones") or [] if isinstance(z, dict)]
    scopes: list[dict[str, Any] | None] = [None, *zones]
    for zone in scopes:
        fig = _figures(frame, zone)
        zone_id = None if zone is None else fig["zone_id"]
        scope_safe = fig["risk_level"] == SAFE
        triggers = CAMERA_TRIGGERS if zone is None else ZONE_TRIGGERS
        limits = zone_limits.get(zone_id) or zone_limits.get(str(zone_id)) or ZoneLimits()
        explained = 0  # the highest level a specific trigger of this scope accounts for
        for trigger in triggers:
            threshold: float | None = None
            if trigger == COUNT_UNRELIABLE:
                # A warning whatever the risk: the figures behind the risk are what is in doubt.
                level = WARNING if fig["count_quality"] == "unreliable" else None
                key = f"-:{trigger}"
                # Its all-clear is the count being usable again (not the scene being SAFE).
                observations.append(Observation(key, None, trigger, level, level is None, fig, None))
                continue
            if trigger == RISK_LEVEL:
                # The risk level alone fires only what no specific trigger explains: the engine
                # lifts risk to the density level, and one crowding event must raise one alert.
                level = fig["risk_level"] if rank(fig["risk_level"]) >= rank(WARNING) else None
                if rank(level) <= explained:
                    level = None
            elif trigger == DENSITY:
                warning = limits.density_warning or th.density_warning
                critical = limits.density_critical or max(th.density_critical, warning)
                level = _level_over(fig["density"], warning, critical)
                threshold = critical if level == CRITICAL else warning
            elif trigger == SURGE:
                # A surge into a sparse scene is people arriving, not a crowd pressing in.
                level = (
                    _level_over(fig["surge"], th.surge_threshold, th.surge_critical)
                    if fig["density"] >= th.surge_min_density
                    else None
                )
                threshold = th.surge_critical if level == CRITICAL else th.surge_threshold
            else:  # STAGNATION: the engine's dense-and-slow flag, at a density worth an alert
                level = (
                    _level_over(fig["density"], th.density_warning, th.density_critical)
                    if fig["stagnation"]
                    else None
                )
                threshold = th.density_warning
            if trigger != RISK_LEVEL:
                explained = max(explained, rank(level))
            key = f"{'-' if zone_id is None else zone_id}:{trigger}"
            observations.append(
                Observation(key, zone_id, trigger, level, scope_safe and level is None, fig, threshold)
            )
    return observations


@dataclass
class KeyState:
    """What the rules remember about one camera/zone/trigger (kept in Redis by alerts.state)."""

    alert_id: int | None = None  # the alert this key tracks (open or acknowledged)
    level: str | None = None  # its level, or the level of the last raise once untracked
    cleared: bool = False  # the tracked alert got its all-clear (it still needs resolving)
    last_fired: float | None = None  # wall clock (epoch s) of the last raise / escalation
    pending_since: float | None = None  # video s: the condition began holding
    drop_since: float | None = None  # video s: a dropout began while pending
    safe_since: float | None = None  # video s: the scope went back to SAFE (tracked alerts only)
    peak: dict[str, Any] = field(default_factory=dict)
    peak_dirty: bool = False
    peak_flushed: float | None = None  # video s of the last peak write

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> KeyState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def idle(self) -> bool:
        """Nothing worth keeping (no alert, nothing pending)."""
        return self.alert_id is None and self.pending_since is None

    def reset_video_clock(self) -> None:
        """The video clock jumped (restart, replay, long gap): restart the video timers."""
        self.pending_since = self.drop_since = self.safe_since = self.peak_flushed = None


ActionKind = Literal["raise", "escalate", "reactivate", "peak", "all_clear"]


@dataclass
class Action:
    kind: ActionKind
    key: str
    observation: Observation
    alert_id: int | None = None
    peak: dict[str, Any] = field(default_factory=dict)
    peak_changed: bool = True  # for "peak": False means only check the alert is still unresolved


def merge_peak(peak: dict[str, Any], fig: dict[str, Any]) -> bool:
    changed = False
    for name in PEAK_KEYS:
        value = fig.get(name)
        if isinstance(value, int | float) and value > peak.get(name, float("-inf")):
            peak[name] = value
            changed = True
    if rank(fig.get("risk_level")) > rank(peak.get("risk_level")):
        peak["risk_level"] = fig["risk_level"]
        changed = True
    if changed:
        peak["timestamp"] = fig.get("timestamp")
    return changed


def step(st: KeyState, obs: Observation, ts: float, now: float, th: Thresholds) -> list[Action]:
    """Advance one key's state by one frame at video time `ts`, wall clock `now`."""
    holding = obs.level is not None
    # Debounce with a small dropout tolerance.
    if holding:
        restarted = st.drop_since is not None and ts - st.drop_since > th.dropout_tolerance_s
        if st.pending_since is None or restarted:
            st.pending_since = ts
        st.drop_since = None
        st.safe_since = None
    else:
        if st.pending_since is not None:
            if st.drop_since is None:
                st.drop_since = ts
            if ts - st.drop_since > th.dropout_tolerance_s:
                st.pending_since = st.drop_since = None
        if st.alert_id is not None and not st.cleared and obs.clear:
            if st.safe_since is None:
                st.safe_since = ts
        else:
            st.safe_since = None

    active = st.alert_id is not None and not st.cleared
    if active:
        st.peak_dirty = merge_peak(st.peak, obs.figures) or st.peak_dirty
        if holding and rank(obs.level) > rank(st.level):
            return [_escalate(st, obs, now)]  # at once: no debounce, no cooldown
        if st.safe_since is not None and ts - st.safe_since >= th.all_clear_after_s - 1e-6:
            st.cleared = True
            st.peak_dirty = False
            st.peak_flushed = ts
            return [Action("all_clear", obs.key, obs, st.alert_id, dict(st.peak))]
        if st.peak_flushed is None or ts - st.peak_flushed >= PEAK_FLUSH_S:
            # Regular write (also notices an alert resolved behind our back).
            changed, st.peak_dirty, st.peak_flushed = st.peak_dirty, False, ts
            return [Action("peak", obs.key, obs, st.alert_id, dict(st.peak), peak_changed=changed)]
        return []

    if not holding or st.pending_since is None or ts - st.pending_since < th.debounce_s - 1e-6:
        return []
    in_cooldown = st.last_fired is not None and now - st.last_fired < th.cooldown_s
    higher = rank(obs.level) > rank(st.level)
    if st.alert_id is not None:  # tracked but all-cleared: the condition came back
        if higher:
            st.peak_dirty = merge_peak(st.peak, obs.figures) or st.peak_dirty
            return [_escalate(st, obs, now)]
        if in_cooldown:
            st.cleared = False
            merge_peak(st.peak, obs.figures)
            st.peak_dirty = False
            st.peak_flushed = ts
            return [Action("reactivate", obs.key, obs, st.alert_id, dict(st.peak))]
    elif in_cooldown and not higher:
        return []  # suppressed; fires as soon as the cooldown ends if it still holds
    # A new alert (the caller stores its id in st.alert_id).
    st.alert_id = None
    st.level = obs.level
    st.cleared = False
    st.last_fired = now
    st.peak = {}
    merge_peak(st.peak, obs.figures)
    st.peak_dirty = False
    st.peak_flushed = ts
    return [Action("raise", obs.key, obs, None, dict(st.peak))]


def _escalate(st: KeyState, obs: Observation, now: float) -> Action:
    st.level = obs.level
    st.cleared = False
    st.last_fired = now
    st.peak_dirty = False
    return Action("escalate", obs.key, obs, st.alert_id, dict(st.peak))
