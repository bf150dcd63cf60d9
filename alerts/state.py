"""Rule state in Redis, so a restarted runner (or worker) neither forgets nor fires again.

One hash per camera, ``<prefix>:alerts:rules:<camera_id>``: a field per key
("<zone>:<trigger>") holding a JSON `KeyState`, and ``_clock`` holding the last video time
seen. Only the camera's runner writes it (one runner per camera, by lease): it keeps the
state in memory (alerts.sinks) and checkpoints it here at each heartbeat and at once whenever
an alert was raised or changed, so a takeover neither fires again nor forgets one. Other
processes signal a resolved alert through the set ``<prefix>:alerts:resolved:<camera_id>``,
which the runner pops at its heartbeat; that avoids two writers on the hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from alerts.rules import KeyState
from core.redis import get_redis, redis_key

STATE_TTL_S = 7 * 24 * 3600  # refreshed on every write; an idle camera's state ages out
CLOCK_FIELD = "_clock"
MAX_VIDEO_GAP_S = 10.0  # a longer jump of the video clock restarts the video timers


def rules_key(camera_id: int) -> str:
    return redis_key("alerts", "rules", camera_id)


def resolved_key(camera_id: int) -> str:
    return redis_key("alerts", "resolved", camera_id)


@dataclass
class CameraState:
    camera_id: int
    keys: dict[str, KeyState] = field(default_factory=dict)
    clock: float | None = None
    _raw: dict[str, str] = field(default_factory=dict)  # as loaded, to write only changes


def load(camera_id: int, ts: float) -> CameraState:
    """The camera's rule state, with resolved alerts untracked and clock jumps handled."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.hgetall(rules_key(camera_id))
    pipe.spop(resolved_key(camera_id), 1000)
    raw_hash, resolved = pipe.execute()
    raw = {k.decode(): v.decode() for k, v in (raw_hash or {}).items()}
    state = CameraState(camera_id=camera_id, _raw=raw)
    for name, value in raw.items():
        if name == CLOCK_FIELD:
            state.clock = float(value)
            continue
        try:
            state.keys[name] = KeyState.from_json_dict(json.loads(value))
        except (ValueError, TypeError):
            continue  # a corrupt field is dropped (rewritten or removed on save)
    _untrack_resolved(state, resolved)
    follow_clock(state, ts)
    return state


def pop_resolved(state: CameraState) -> None:
    """Untrack the alerts that other processes resolved since the last call."""
    _untrack_resolved(state, get_redis().spop(resolved_key(state.camera_id), 1000))


def _untrack_resolved(state: CameraState, resolved) -> None:
    resolved_ids = {int(r) for r in resolved or []}
    if resolved_ids:
        for st in state.keys.values():
            if st.alert_id in resolved_ids:
                untrack(st)


def follow_clock(state: CameraState, ts: float) -> None:
    """A video clock that went back, or jumped ahead by more than MAX_VIDEO_GAP_S, restarts
    the video timers (debounce, all-clear); then the state's clock is `ts`."""
    if state.clock is not None and (ts < state.clock - 1e-3 or ts - state.clock > MAX_VIDEO_GAP_S):
        for st in state.keys.values():
            st.reset_video_clock()
    state.clock = ts


def untrack(st: KeyState) -> None:
    """Forget the tracked alert (resolved); keep level and last_fired for the cooldown."""
    st.alert_id = None
    st.cleared = False
    st.safe_since = None
    st.peak = {}
    st.peak_dirty = False


def save(state: CameraState, ts: float, now: float, cooldown_s: float) -> None:
    """Write the fields that changed; drop keys with nothing left to remember."""
    updates, removals = _changes(state, now, cooldown_s)
    _write(state, ts, updates, removals)


def checkpoint(state: CameraState, ts: float, now: float, cooldown_s: float) -> None:
    """Write the whole state, replacing what Redis holds (the runner's periodic checkpoint:
    a Redis that restarted empty gets it back within one heartbeat)."""
    updates, _ = _changes(state, now, cooldown_s, everything=True)
    key = rules_key(state.camera_id)
    pipe = get_redis().pipeline(transaction=True)
    pipe.delete(key)
    if updates:
        pipe.hset(key, mapping={**updates, CLOCK_FIELD: repr(ts)})
        pipe.expire(key, STATE_TTL_S)
    pipe.execute()
    state._raw = {**updates, CLOCK_FIELD: repr(ts)} if updates else {}


def _changes(
    state: CameraState, now: float, cooldown_s: float, everything: bool = False
) -> tuple[dict[str, str], list[str]]:
    updates: dict[str, str] = {}
    removals: list[str] = []
    for name, st in state.keys.items():
        cooling = st.last_fired is not None and now - st.last_fired < cooldown_s
        if st.idle and not cooling:
            if name in state._raw:
                removals.append(name)
            continue
        encoded = json.dumps(st.to_json_dict(), separators=(",", ":"))
        if everything or state._raw.get(name) != encoded:
            updates[name] = encoded
    for name in state._raw:
        if name != CLOCK_FIELD and name not in state.keys:
            removals.append(name)
    return updates, removals


def _write(state: CameraState, ts: float, updates: dict[str, str], removals: list[str]) -> None:
    remaining = (set(state._raw) - set(removals) - {CLOCK_FIELD}) | set(updates)
    key = rules_key(state.camera_id)
    if not updates and not removals:
        if remaining and state._raw.get(CLOCK_FIELD) != repr(ts):
            get_redis().hset(key, CLOCK_FIELD, repr(ts))
            state._raw[CLOCK_FIELD] = repr(ts)
        return
    pipe = get_redis().pipeline(transaction=False)
    if removals:
        pipe.hdel(key, *removals)
    if remaining:
        pipe.hset(key, mapping={**updates, CLOCK_FIELD: repr(ts)})
        pipe.expire(key, STATE_TTL_S)
    else:
        pipe.delete(key)
    pipe.execute()
    # What Redis holds now: a state kept in memory (the runner's) writes only changes next time.
    for name in removals:
        state._raw.pop(name, None)
    state._raw.update(updates)
    if remaining:
        state._raw[CLOCK_FIELD] = repr(ts)
    else:
        state._raw.pop(CLOCK_FIELD, None)


def signal_resolved(camera_id: int, alert_id: int) -> None:
    """Tell the camera's runner that an alert was resolved (it stops tracking it)."""
    r = get_redis()
    pipe = r.pipeline(transaction=False)
    pipe.sadd(resolved_key(camera_id), alert_id)
    pipe.expire(resolved_key(camera_id), STATE_TTL_S)
    pipe.execute()


def clear_camera(camera_id: int) -> None:
    """Forget everything about a camera (tests, camera deletion)."""
    get_redis().delete(rules_key(camera_id), resolved_key(camera_id))
