"""The rule functions alone (no database, no Redis): evaluate() and step() over time."""

from __future__ import annotations

from alerts.rules import (
    DENSITY,
    RISK_LEVEL,
    STAGNATION,
    SURGE,
    KeyState,
    Thresholds,
    ZoneLimits,
    evaluate,
    step,
)
from tests.alerts.frames import make_frame, timeline, zone

TH = Thresholds()  # the product defaults: 4 / 6 p/m², surge 0.6, debounce 2 s, cooldown 60 s, all clear 30 s


def _obs(frame, key):
    return {o.key: o for o in evaluate(frame.to_dict(include_persons=False), TH)}[key]


def run(st: KeyState, frames, key="-:density", now=1000.0):
    """Step one key through frames; return the (timestamp, kind) of every action."""
    out = []
    for frame in frames:
        for action in step(st, _obs(frame, key), frame.timestamp, now, TH):
            out.append((frame.timestamp, action.kind))
            if action.kind == "raise":
                st.alert_id = 7
    return out


def test_evaluate_levels_per_trigger_and_zone_overrides():
    frame = make_frame(
        1.0, 4.5, surge=0.85, stagnation=True, zones=[zone(3, "Gate A", 2.5), zone(4, "Gate B", 1.0)]
    ).to_dict()
    obs = {o.key: o for o in evaluate(frame, TH, {3: ZoneLimits("Gate A", 2.0, 3.0)})}
    assert sorted(obs) == [
        "-:count_unreliable",  # count quality is per camera: no zone has it
        "-:density",
        "-:risk_level",
        "-:stagnation",
        "-:surge",
        "3:density",
        "3:risk_level",
        "4:density",
        "4:risk_level",
    ]
    assert obs["-:density"].level == "WARNING" and obs["-:density"].threshold == 4.0
    assert obs["-:risk_level"].level is None  # density, surge and stagnation explain it
    assert obs["-:surge"].level == "CRITICAL"  # 0.85 >= (1 + 0.6) / 2
    assert obs["-:stagnation"].level == "WARNING"
    assert obs["3:density"].level == "WARNING" and obs["3:density"].threshold == 2.0  # override wins
    assert obs["3:density"].figures["zone_name"] == "Gate A" and obs["3:density"].figures["density"] == 2.5
    assert obs["3:risk_level"].level is None  # the zone itself is only at CAUTION
    assert obs["4:density"].level is None and obs["4:density"].clear
    # The engine said "ok" (the default): the count alert holds nothing and is clear even at WARNING.
    assert obs["-:count_unreliable"].level is None and obs["-:count_unreliable"].clear


def test_debounce_needs_two_seconds_of_video():
    st = KeyState()
    frames = [make_frame(t, 4.5) for t in timeline(0, 5)]
    assert run(st, frames) == [(2.0, "raise")]


def test_single_frame_dropout_does_not_restart_the_debounce_but_a_long_one_does():
    frames = [make_frame(t, 1.0 if t == 1.0 else 4.5) for t in timeline(0, 5)]
    assert run(KeyState(), frames) == [(2.0, "raise")]
    frames = [make_frame(t, 1.0 if 1.0 <= t < 2.0 else 4.5) for t in timeline(0, 6)]
    assert run(KeyState(), frames) == [(4.0, "raise")]  # restarted at 2.0


def test_escalation_is_immediate_and_all_clear_after_the_safe_period():
    frames = (
        [make_frame(t, 4.5) for t in timeline(0, 3)]
        + [make_frame(t, 6.5) for t in timeline(3, 4)]
        + [make_frame(t, 1.0) for t in timeline(4, 40)]
    )
    actions = [a for a in run(KeyState(), frames) if a[1] != "peak"]
    assert actions == [(2.0, "raise"), (3.0, "escalate"), (34.0, "all_clear")]


def test_caution_between_warning_and_safe_holds_the_all_clear_back():
    frames = [make_frame(t, 4.5) for t in timeline(0, 3)] + [make_frame(t, 3.0) for t in timeline(3, 60)]
    assert [a for a in run(KeyState(), frames) if a[1] != "peak"] == [(2.0, "raise")]


def test_cooldown_is_wall_clock_and_escalation_bypasses_it():
    st = KeyState(level="WARNING", last_fired=1000.0)  # fired, then resolved (untracked)
    frames = [make_frame(t, 4.5) for t in timeline(0, 5)]
    assert run(st, frames, now=1030.0) == []  # inside the 60 s cooldown
    assert run(st, [make_frame(5.0, 4.5)], now=1061.0) == [(5.0, "raise")]  # still holding: at once
    st = KeyState(level="WARNING", last_fired=1000.0)
    assert run(st, [make_frame(t, 6.5) for t in timeline(0, 3)], now=1010.0) == [(2.0, "raise")]


def test_other_triggers():
    st = KeyState()
    frames = [make_frame(t, 1.0, surge=0.7) for t in timeline(0, 3)]
    assert run(st, frames, key="-:surge") == [(2.0, "raise")]
    # The same surge into a sparse scene (0.3 p/m², under the 0.5 default) is people arriving.
    sparse = [make_frame(t, 0.3, surge=0.9) for t in timeline(0, 5)]
    assert run(KeyState(), sparse, key="-:surge") == []
    assert _obs(sparse[-1], "-:surge").level is None
    assert _obs(make_frame(5.0, 0.5, surge=0.9), "-:surge").level == "CRITICAL"  # from 0.5 on
    frames = [make_frame(t, 4.5, stagnation=True, avg_speed=0.05) for t in timeline(0, 3)]
    assert run(KeyState(), frames, key="-:stagnation") == [(2.0, "raise")]
    assert run(KeyState(), [make_frame(t, 4.5) for t in timeline(0, 3)], key="-:stagnation") == []
    assert {DENSITY, RISK_LEVEL, SURGE, STAGNATION} == {"density", "risk_level", "surge", "stagnation"}
