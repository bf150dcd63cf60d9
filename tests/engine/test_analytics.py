"""Synthetic scenes with exact expectations for each analytic."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analytics.engine import (
    CameraGeometry,
    CrowdEngine,
    EngineConfig,
    LineSpec,
    TrackedBox,
    ZoneSpec,
)
from analytics.engine.crowd import flow_coherence, proximity_pairs, speed_anomalies
from analytics.engine.density import LineCounter

from .conftest import FRAME, boxes_at, calibrated_geometry, run_scene


def grid(n: int, origin=(2.0, 2.0), spacing=1.5, cols=5) -> np.ndarray:
    idx = np.arange(n)
    return np.stack([idx % cols, idx // cols], axis=1) * spacing + np.asarray(origin)


def test_people_moving_east_at_1_2_mps(engine):
    start = grid(10)
    ids = np.arange(1, 11)
    results = run_scene(engine, lambda t: start + np.array([1.2 * t, 0.0]), ids, 3.0)
    r = results[-1]
    assert r.calibrated is True and r.metres_per_pixel is None
    assert r.count == 10 and r.tracked_count == 10
    assert r.avg_speed == pytest.approx(1.2, abs=1e-6)
    assert r.max_speed == pytest.approx(1.2, abs=1e-6)
    for p in r.persons:
        assert p.speed == pytest.approx(1.2, abs=1e-6)
        assert p.direction == pytest.approx((1.0, 0.0))
    assert r.flow_coherence == pytest.approx(1.0, abs=1e-6)
    assert r.stagnation is False
    assert r.anomalies == []


def test_random_directions_give_coherence_near_zero(engine):
    rng = np.random.default_rng(7)
    n = 200
    start = rng.uniform(1, 19, size=(n, 2))
    ang = rng.uniform(0, 2 * np.pi, n)
    vel = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    r = run_scene(engine, lambda t: start + vel * t, np.arange(n), 2.5)[-1]
    assert r.avg_speed == pytest.approx(1.0, abs=1e-6)
    assert r.flow_coherence < 0.15  # sqrt of the unbiased R² estimate: ~0.1 noise at n=200


def test_coherence_function_edge_cases():
    assert flow_coherence(np.zeros((0, 2))) == 0.0
    assert flow_coherence(np.array([[1.0, 0.0]])) == 0.0
    assert flow_coherence(np.array([[1.0, 0.0], [-1.0, 0.0]])) == 0.0
    assert flow_coherence(np.array([[0.0, 1.0]] * 4)) == pytest.approx(1.0)


def test_twenty_people_in_four_square_metres():
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(area_m2=4.0))
    pos = grid(20, origin=(5, 5), spacing=0.45, cols=5)
    r = run_scene(eng, lambda t: pos, np.arange(20), 2.0)[-1]
    assert r.density == pytest.approx(5.0)
    assert r.level_of_service == "F"
    assert r.density_level == "WARNING"  # 4 ≤ 5 < 6 p/m²
    assert r.risk_level in ("WARNING", "CRITICAL")
    assert r.stagnation is True
    # Packed but still: a stagnant crowd, no turbulence (Helbing's pressure needs velocity
    # variance; the danger here is read by density and stagnation).
    assert r.pressure == pytest.approx(0.0, abs=1e-9)
    assert r.num_clusters == 1 and r.clusters[0].size == 20
    assert len(r.clusters[0].hull) == 4  # the grid's convex hull is its 4 corners
    assert r.clusters[0].area_m2 == pytest.approx(1.8 * 0.45 * 3, rel=1e-3)


@pytest.mark.parametrize(
    ("count", "area", "los", "level"),
    [
        (0, 100, "A", "SAFE"),
        (50, 100, "A", "SAFE"),
        (300, 100, "D", "CAUTION"),
        (450, 100, "E", "WARNING"),
        (700, 100, "F", "CRITICAL"),
    ],
)
def test_density_levels_and_los(count, area, los, level):
    from analytics.engine.density import density_level, level_of_service

    d = count / area
    cfg = EngineConfig()
    assert level_of_service(d, cfg.los_bounds_pm2) == los
    assert density_level(d, 2, 4, 6) == level


def test_surge_when_count_doubles_within_window():
    # 10 → 20 people on 10 m² (1 → 2 p/m²): a crowd, so the surge figure is not muted.
    engine = CrowdEngine(None, EngineConfig(), calibrated_geometry(area_m2=10.0))
    base = grid(10)
    more = np.vstack([base, grid(10, origin=(2.0, 10.0))])
    results = run_scene(engine, lambda t: base, np.arange(10), 5.0)
    assert results[-1].surge == 0.0 and results[-1].count_rate == 0.0
    # 10 more people arrive over 2 s: count doubles within the 5 s window.
    t0 = results[-1].timestamp
    r = None
    for k in range(1, 21):
        n = 10 + (k + 1) // 2
        t = t0 + k * 0.1
        r = engine.analyse((boxes_at(more[:n]), np.arange(n), None), t, FRAME)
    assert r is not None and r.count == 20
    assert r.surge == pytest.approx(1.0)
    assert r.count_rate > 1.9  # ≈ 10 people / 5 s window
    assert r.density_rate > 0
    # Steady again: the surge fades once the window no longer holds the growth.
    t1 = r.timestamp
    for k in range(1, 61):
        r = engine.analyse((boxes_at(more), np.arange(20), None), t1 + k * 0.1, FRAME)
    assert r.surge == 0.0


def test_small_fluctuation_is_not_a_surge(engine):
    base = grid(3)
    run_scene(engine, lambda t: base, np.arange(3), 2.0)
    r = engine.analyse((boxes_at(grid(4)), np.arange(4), None), 2.1, FRAME)
    assert r.surge <= 0.2  # +1 person is measured against at least surge_min_count people


def test_stalled_dense_crowd_is_stagnation_and_moving_is_not():
    geo = calibrated_geometry(area_m2=5.0)
    pos = grid(30, origin=(5, 5), spacing=0.4, cols=6)
    still = run_scene(CrowdEngine(None, EngineConfig(), geo), lambda t: pos, np.arange(30), 3.0)[-1]
    assert still.density == pytest.approx(6.0)
    assert still.stagnation is True and still.stagnation_score == pytest.approx(1.0)
    assert still.risk_level == "CRITICAL"
    moving = run_scene(
        CrowdEngine(None, EngineConfig(), geo), lambda t: pos + [1.2 * t, 0], np.arange(30), 3.0
    )[-1]
    assert moving.stagnation is False and moving.stagnation_score == 0.0
    assert still.risk_components["velocity"] == pytest.approx(1.0)
    assert moving.risk_components["velocity"] == pytest.approx(0.3 / 1.3)
    assert moving.risk_components["base"] < still.risk_components["base"]


def test_empty_and_sparse_still_scenes_are_safe(engine):
    r = engine.analyse([], 0.0, FRAME)
    assert r.count == 0 and r.risk_level == "SAFE" and r.risk_score == 0.0
    pos = np.array([[3.0, 3.0], [10.0, 12.0], [15.0, 4.0]])
    r = run_scene(engine, lambda t: pos, np.arange(3), 3.0, t0=1.0)[-1]
    assert r.avg_speed == 0.0
    assert r.risk_level == "SAFE" and r.risk_score < 0.05
    assert r.stagnation is False


def test_line_crossing_counts_once():
    line = LineSpec(id=1, name="gate", p1=(0.5, 0.0), p2=(0.5, 1.0), in_side="right")
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(lines=[line]))
    # Walk east from x = 5 m to x = 15 m (the line is at x = 10 m) at 1 m/s.
    results = run_scene(eng, lambda t: np.array([[5.0 + t, 10.0]]), np.array([7]), 10.0)
    # p1→p2 points down the image; its right side is the west (x < 10): walking east = out.
    assert sum(r.flow_out for r in results) == 1
    assert sum(r.flow_in for r in results) == 0
    assert [r.lines[0].out_delta for r in results].count(1) == 1
    assert results[-1].lines[0].out_total == 1 and results[-1].lines[0].in_total == 0
    # Jitter on the line is not a crossing.
    t0 = results[-1].timestamp
    for k in range(1, 40):
        x = 10.0 + 0.05 * (-1) ** k
        r = eng.analyse((boxes_at([[x, 10.0]]), np.array([8]), None), t0 + k * 0.1, FRAME)
        assert r.flow_in == 0 and r.flow_out == 0
    # Walking back west counts one "in"; passing beyond the segment's end counts nothing.
    t1 = r.timestamp
    back = run_scene(eng, lambda t: np.array([[15.0 - (t - t1), 10.0]]), np.array([7]), 10.0, t0=t1)
    assert sum(r.flow_in for r in back) == 1
    assert back[-1].lines[0].in_total == 1 and back[-1].lines[0].out_total == 1


def test_line_ignores_untracked_and_crossings_outside_the_segment():
    line = LineSpec(id="a", name="short", p1=(0.5, 0.0), p2=(0.5, 0.25), in_side="left")
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(lines=[line]))
    rs = run_scene(eng, lambda t: np.array([[5.0 + t, 15.0]]), np.array([1]), 10.0)
    assert sum(r.flow_in + r.flow_out for r in rs) == 0
    rs = run_scene(eng, lambda t: np.array([[5.0 + t, 2.0]]), np.array([-1]), 10.0, t0=20)
    assert sum(r.flow_in + r.flow_out for r in rs) == 0


def test_speed_anomaly_in_a_small_group(engine):
    start = grid(5)
    v = np.array([[1.0, 0]] * 4 + [[3.0, 0]])
    r = run_scene(engine, lambda t: start + v * t, np.arange(1, 6), 2.0)[-1]
    assert [a.track_id for a in r.anomalies] == [5]
    assert r.anomalies[0].kind == "fast" and r.anomalies[0].zscore > 2.0
    assert [p.anomaly for p in r.persons] == [False] * 4 + [True]
    assert r.persons[4].state == "anomaly"


def test_no_anomaly_in_uniform_crowd_and_population_z_would_miss_small_groups():
    speeds = np.array([1.0, 1.02, 0.98, 1.01, 0.99, 1.0])
    _, flagged = speed_anomalies(speeds, 2.0)
    assert not flagged.any()
    five = np.array([1.0, 1.0, 1.0, 1.0, 3.0])
    pop_z = (five - five.mean()) / five.std()
    assert abs(pop_z).max() <= 2.0  # the original's z-score cannot flag anyone among 5
    _, flagged = speed_anomalies(five, 2.0)
    assert flagged.tolist() == [False, False, False, False, True]
    _, flagged = speed_anomalies(np.array([1.0, np.nan, 3.0]), 2.0)
    assert not flagged.any()  # fewer than 3 known speeds


def test_proximity_pairs_match_brute_force():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 10, size=(300, 2))
    pairs, dist = proximity_pairs(pts, 0.6)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    iu = np.triu_indices(len(pts), 1)
    expected = {(i, j) for i, j in zip(*iu, strict=False) if d[i, j] < 0.6}
    assert {tuple(p) for p in pairs.tolist()} == expected
    assert np.all(dist < 0.6)


def test_clusters_two_groups(engine):
    a = grid(6, origin=(2, 2), spacing=0.5, cols=3)
    b = grid(4, origin=(14, 14), spacing=0.5, cols=2)
    lone = np.array([[10.0, 2.0]])
    pos = np.vstack([a, b, lone])
    r = engine.analyse((boxes_at(pos), np.arange(len(pos)), None), 0.0, FRAME)
    assert r.num_clusters == 2
    assert sorted(c.size for c in r.clusters) == [4, 6]
    big = max(r.clusters, key=lambda c: c.size)
    assert sorted(big.track_ids) == list(range(6))
    assert r.proximity_pairs == 7 + 4  # neighbours at 0.5 m in a 3x2 and a 2x2 grid


def test_pressure_is_zero_when_sparse_and_high_when_packed_and_jostling(engine):
    sparse = grid(10, spacing=3.0)
    rng = np.random.default_rng(7)
    r = run_scene(engine, lambda t: sparse + rng.normal(0, 0.3, sparse.shape) * t, np.arange(10), 1.0)[-1]
    assert r.pressure == 0.0  # nobody has neighbours: no crowd, no pressure
    packed = grid(30, origin=(8, 8), spacing=0.42, cols=6)
    # Everyone pushed to and fro in a different direction (jostling), ~0.4 m/s.
    phase = rng.uniform(0, 2 * np.pi, (30, 2))
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    r = run_scene(eng, lambda t: packed + 0.1 * np.sin(4 * t + phase), np.arange(30), 2.0)[-1]
    assert r.pressure > 0.2  # s⁻², ten times the turbulence onset (0.02 s⁻²)
    assert r.risk_components["pressure"] == 1.0  # the risk term saturates at the onset


def test_trend_labels_and_forecast():
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(area_m2=10.0))
    rng = np.random.default_rng(1)
    spots = rng.uniform(1, 19, size=(100, 2))
    r = None
    for k in range(0, 301):  # 30 s, count grows 1 → 50 (density +0.16 p/m² per second)
        t = k / 10
        n = 1 + int(t * 1.6)
        r = eng.analyse((boxes_at(spots[:n]), np.arange(n), None), t, FRAME)
    assert r is not None
    assert r.density_trend.label == "rising"
    assert r.density_trend.forecast > r.density_trend.ema
    assert r.density_trend.horizon_s == 30.0
    assert r.density_trend.slope_per_s == pytest.approx(0.16, rel=0.25)
    for k in range(301, 1001):  # stays constant
        r = eng.analyse((boxes_at(spots[:49]), np.arange(49), None), k / 10, FRAME)
    assert r.density_trend.label == "stable"
    for k in range(1001, 1301):  # people leave
        n = max(0, 49 - int((k - 1000) / 10 * 1.6))
        r = eng.analyse((boxes_at(spots[:n]), np.arange(n), None), k / 10, FRAME)
    assert r.density_trend.label == "falling"
    assert r.density_trend.forecast >= 0.0


def test_zones_count_density_and_area_from_homography():
    zone = ZoneSpec(id=3, name="stage", polygon=[(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)], capacity=10)
    small = ZoneSpec(
        id=4,
        name="exit",
        polygon=[(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 1)],
        area_m2=2.0,
        density_warning=1.0,
        density_critical=2.0,
    )
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(zones=[zone, small]))
    pos = np.vstack([grid(8, origin=(1, 1), spacing=1.0, cols=4), [[15.0, 15.0], [16, 16], [17, 17]]])
    r = eng.analyse((boxes_at(pos), np.arange(len(pos)), None), 0.0, FRAME)
    z3, z4 = r.zones
    assert (z3.id, z3.count, z3.area_m2) == (3, 8, pytest.approx(100.0))
    assert z3.density == pytest.approx(0.08)
    assert z3.capacity_utilization == pytest.approx(80.0)
    assert z3.level_of_service == "A" and z3.risk_level == "SAFE"
    assert (z4.count, z4.density) == (3, pytest.approx(1.5))
    assert z4.density_level == "WARNING"  # zone override: warning at 1 p/m²


def test_uncalibrated_uses_area_and_says_so():
    geo = CameraGeometry(area_m2=400.0)  # 1000x1000 px → 0.02 m/px
    eng = CrowdEngine(None, EngineConfig(), geo)
    start = grid(5)
    r = run_scene(eng, lambda t: start + [1.2 * t, 0], np.arange(5), 2.0)[-1]
    assert r.calibrated is False
    assert r.metres_per_pixel == pytest.approx(0.02)
    assert r.avg_speed == pytest.approx(1.2 * 50 * 0.02)
    assert r.to_dict()["calibrated"] is False


def test_untracked_boxes_count_but_get_no_ids(engine):
    boxes = [TrackedBox(tuple(b)) for b in boxes_at(grid(3))]
    r = engine.analyse(boxes, 0.0, FRAME)
    r = engine.analyse(boxes, 0.1, FRAME)
    assert r.count == 3 and r.tracked_count == 0
    assert all(p.track_id is None and p.speed is None for p in r.persons)
    assert all(p.state == "untracked" for p in r.persons)


def test_engines_do_not_share_state():
    a = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    b = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    start = grid(4)
    run_scene(a, lambda t: start + [1.0 * t, 0], np.arange(4), 2.0)
    rb = run_scene(b, lambda t: start, np.arange(4), 2.0)[-1]
    assert rb.avg_speed == 0.0 and rb.frame_index == 21
    assert len(b._store) == 4


def test_tracks_are_pruned_by_source_time(engine):
    run_scene(engine, lambda t: grid(3), np.arange(3), 1.0)
    assert len(engine._store) == 3
    engine.analyse([], 3.5, FRAME)
    assert len(engine._store) == 3  # 2.5 s since last seen < 3 s
    engine.analyse([], 4.2, FRAME)
    assert len(engine._store) == 0


def test_time_going_backwards_clears_history(engine):
    start = grid(3)
    run_scene(engine, lambda t: start + [t, 0], np.arange(3), 2.0, t0=100.0)
    r = engine.analyse((boxes_at(start + [50, 0]), np.arange(3), None), 0.0, FRAME)
    assert r.avg_speed == 0.0 and all(p.speed is None for p in r.persons)
    r = engine.analyse((boxes_at(start + [50.1, 0]), np.arange(3), None), 0.1, FRAME)
    assert r.avg_speed == pytest.approx(1.0)


def test_update_config_and_geometry_take_effect_next_frame(engine):
    pos = grid(10, origin=(5, 5), spacing=0.5)
    r = engine.analyse((boxes_at(pos), np.arange(10), None), 0.0, FRAME)
    assert r.density_level == "SAFE"
    engine.update_geometry(calibrated_geometry(area_m2=4.0))
    engine.update_config(
        EngineConfig(density_caution_pm2=1.0, density_warning_pm2=2.0, density_critical_pm2=2.4)
    )
    r = engine.analyse((boxes_at(pos), np.arange(10), None), 0.1, FRAME)
    assert r.density == pytest.approx(2.5) and r.density_level == "CRITICAL"
    assert r.risk_level == "CRITICAL"


def test_risk_weights_are_configurable_and_levels_follow_cutoffs():
    from analytics.engine.risk import RiskInputs, risk_level, risk_score

    cfg = EngineConfig(density_floor=False)
    score, parts = risk_score(RiskInputs(4.0, 1.0, 0.2, 0.0, 0.0), cfg)
    # density 4 → 0.5; surge 1; dense (4 p/m² = stagnation density) and still → 1.
    assert parts["density"] == pytest.approx(0.5) and parts["velocity"] == pytest.approx(1.0)
    assert score == pytest.approx(0.4 * 0.5 + 0.3 + 0.3)
    assert risk_level(score, cfg) == "CRITICAL"
    cfg2 = EngineConfig(weight_density=1.0, weight_surge=0.0, weight_velocity=0.0, density_floor=False)
    score2, _ = risk_score(RiskInputs(4.0, 1.0, 0.2, 0.0, 0.0), cfg2)
    assert score2 == pytest.approx(0.5) and risk_level(score2, cfg2) == "WARNING"
    assert risk_level(0.2499, cfg) == "SAFE" and risk_level(0.25, cfg) == "CAUTION"
    assert risk_level(0.5, cfg) == "WARNING" and risk_level(0.75, cfg) == "CRITICAL"
    # Boosts: pressure 0.6 / coherence 0.4, scaled and capped at 1.
    s_full, parts = risk_score(RiskInputs(9.0, 1.0, 0.0, 1.0, 1.0), cfg)
    assert parts["boost"] == pytest.approx(cfg.boost_scale) and s_full == 1.0


def test_to_dict_is_json_and_has_the_contract_fields(engine):
    start = grid(6)
    r = run_scene(engine, lambda t: start + [t, 0], np.arange(6), 1.0)[-1]
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    for key in (
        "timestamp",
        "frame_index",
        "frame_width",
        "frame_height",
        "calibrated",
        "count",
        "density",
        "level_of_service",
        "avg_speed",
        "max_speed",
        "surge",
        "count_rate",
        "density_rate",
        "stagnation",
        "flow_in",
        "flow_out",
        "risk_score",
        "risk_level",
        "num_clusters",
        "clusters",
        "proximity_pairs",
        "flow_coherence",
        "pressure",
        "anomalies",
        "anomaly_count",
        "density_trend",
        "risk_trend",
        "capacity_utilization",
        "zones",
        "lines",
        "persons",
        "timings_ms",
        "reid",
    ):
        assert key in d
    assert d["risk_level"] in ("SAFE", "CAUTION", "WARNING", "CRITICAL")
    assert set(d["density_trend"]) == {"label", "ema", "slope_per_s", "forecast", "horizon_s"}
    p = d["persons"][0]
    assert set(p) >= {"track_id", "box", "confidence", "foot", "position_m", "speed", "direction"}
    assert math.isclose(p["speed"], 1.0, abs_tol=0.01)
    assert "analytics" in d["timings_ms"]


@pytest.mark.parametrize("in_side", ["left", "right"])
@pytest.mark.parametrize("p2", [(0.5, 1.0), (0.9, 0.3)])
def test_the_in_arrow_points_where_a_crossing_counts_in(in_side, p2):
    """The annotated frame's arrow (and the zone editor's, same convention): a walk along it
    through the line is one "in" for the engine's own counter; against it, one "out"."""
    line = LineSpec(id=1, name="gate", p1=(0.5, 0.0), p2=p2, in_side=in_side)
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry(lines=[line]))
    r = eng.analyse((boxes_at([[1.0, 1.0]]), np.array([1]), None), 0.0, FRAME)
    (mid, tip), = r.render_data.line_arrows_px
    mid, tip = np.array(mid, float), np.array(tip, float)
    assert np.hypot(*(tip - mid)) == pytest.approx(0.03 * np.hypot(*FRAME), abs=2)
    for direction, expected in ((1, "in"), (-1, "out")):
        counter = LineCounter([line])
        start, end = mid - direction * 5 * (tip - mid), mid + direction * 5 * (tip - mid)
        _, side = counter.update(start.reshape(1, 2), np.zeros((1, 1), np.int8), FRAME)
        (res,), _ = counter.update(end.reshape(1, 2), side, FRAME)
        assert (res.in_delta, res.out_delta) == ((1, 0) if expected == "in" else (0, 1))
    img = eng.render(np.zeros((FRAME[1], FRAME[0], 3), np.uint8), r)
    near_tip = img[int(tip[1]) - 3:int(tip[1]) + 4, int(tip[0]) - 3:int(tip[0]) + 4]
    assert near_tip.any()  # the arrow is drawn
