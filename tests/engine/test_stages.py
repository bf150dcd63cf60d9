"""The analytics stages one by one (update / reconfigure / reset), and the assembled engine
against figures recorded from the monolithic ``CrowdEngine._analyse`` it replaced."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import DBSCAN

from analytics.engine import CameraGeometry, CrowdEngine, EngineConfig, LineSpec, ZoneSpec
from analytics.engine import crowd as crowd_fn
from analytics.engine.risk import RiskInputs, RiskThresholds, risk_score
from analytics.engine.stages import (
    CrowdStage,
    KinematicsStage,
    RiskStage,
    Setup,
    Surge,
    SurgeStage,
    TrendStage,
    ZonesLinesStage,
)

from .conftest import FRAME, boxes_at, calibrated_geometry

GOLDEN = Path(__file__).parent / "data" / "golden_frames.json"


def setup_for(config: EngineConfig | None = None, **geo) -> Setup:
    return Setup.build(config or EngineConfig(), calibrated_geometry(**geo))


def walk(stage: KinematicsStage, positions_m, ids, t0: float, t1: float, fps: float = 10.0):
    """Feed positions (callable t → (N, 2) metres) from t0 to t1; returns the last Motion."""
    m = None
    for k in range(int(round((t1 - t0) * fps)) + 1):
        t = t0 + k / fps
        m = stage.update(boxes_at(positions_m(t)), np.asarray(ids), t, FRAME)
    return m


# -- kinematics -------------------------------------------------------------------------------
def test_kinematics_speeds_directions_and_untracked():
    stage = KinematicsStage(setup_for())
    start = np.array([[2.0, 2.0], [5.0, 5.0], [8.0, 2.0]])
    m = walk(stage, lambda t: start + [[1.2 * t, 0], [0, -0.5 * t], [0, 0]], [1, 2, -1], 0, 2)
    assert m.world == pytest.approx(start + [[2.4, 0], [0, -1.0], [0, 0]])
    assert m.speeds[:2] == pytest.approx([1.2, 0.5]) and math.isnan(m.speeds[2])
    assert m.known.tolist() == [True, True, False] and m.any_known
    assert m.directions.tolist() == [[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]]
    assert m.velocities[:2] == pytest.approx(np.array([[1.2, 0.0], [0.0, -0.5]]))
    assert np.isnan(m.velocities[2]).all()
    assert m.avg_speed == pytest.approx(0.85) and m.max_speed == pytest.approx(1.2)
    assert m.speed_for_risk == pytest.approx(0.85)
    assert m.tracked.tolist() == [0, 1]
    assert [len(tr) for tr in m.trails] == [15, 15, 0]  # trail_length, and none untracked
    assert m.coherence == 0.0  # two movers at right angles: no common direction


def test_kinematics_reconfigure_keeps_history_unless_its_shape_changes():
    stage = KinematicsStage(setup_for())
    moving = lambda t: np.array([[2.0 + t, 2.0]])  # noqa: E731
    walk(stage, moving, [1], 0, 1)
    stage.reconfigure(setup_for(EngineConfig(velocity_window_s=0.2)))
    m = stage.update(boxes_at(moving(1.1)), np.array([1]), 1.1, FRAME)
    assert m.speeds[0] == pytest.approx(1.0)  # history kept: a speed at once
    assert len(m.trails[0]) == 12
    stage.reconfigure(setup_for(EngineConfig(history_length=30)))
    m = stage.update(boxes_at(moving(1.2)), np.array([1]), 1.2, FRAME)
    assert m.known.tolist() == [False] and len(m.trails[0]) == 1  # new history
    # A new ground plane: the same pixels are other metres.
    stage.reconfigure(Setup.build(EngineConfig(), CameraGeometry(area_m2=100.0)))
    m = stage.update(boxes_at(moving(1.3)), np.array([1]), 1.3, FRAME)
    assert m.world[0] == pytest.approx(np.array([3.3, 2.0]) * 50 * 0.01)  # 10 m / 1000 px


def test_kinematics_reset_and_slot_tenures():
    stage = KinematicsStage(setup_for())
    m1 = walk(stage, lambda t: np.array([[2.0 + t, 2.0]]), [7], 0, 0.5)
    stage.reset()
    m2 = stage.update(boxes_at([[3.0, 2.0]]), np.array([7]), 0.6, FRAME)
    assert m2.known.tolist() == [False]
    assert m2.slots.tolist() == m1.slots.tolist()  # the same slot ...
    assert m2.serials[0] != m1.serials[0]  # ... held by a new tenure
    # Pruned after the TTL (3 s of source time), a returning ID is a new tenure too.
    stage.update(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), 4.0, FRAME)
    assert len(stage.store) == 0
    m3 = stage.update(boxes_at([[3.0, 2.0]]), np.array([7]), 5.0, FRAME)
    assert len(stage.store) == 1 and m3.serials[0] not in (m1.serials[0], m2.serials[0])


# -- crowd measures ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_dbscan_labels_exactly_as_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    pts = rng.uniform(0, rng.uniform(3, 25), (n, 2))
    if seed % 3 == 0:
        pts = np.round(pts * 2) / 2  # coincident points and distances exactly at eps
    eps, min_samples = float(rng.choice([0.5, 1.0, 1.5])), int(rng.integers(1, 6))
    ours = crowd_fn.congestion_clusters(pts, eps, min_samples)
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(pts)
    assert ours.labels.tolist() == ref.tolist()
    assert ours.n_clusters == int(ref.max()) + 1


def test_connected_roots_match_scipy_on_chains_and_random_graphs():
    n = 500
    chain = np.arange(n - 1)
    roots = crowd_fn.connected_roots(n, chain[::-1], chain[::-1] + 1)  # one long path
    assert (roots == 0).all()
    rng = np.random.default_rng(4)
    u, v = rng.integers(0, n, 420), rng.integers(0, n, 420)
    roots = crowd_fn.connected_roots(n, u, v)
    _, comp = connected_components(coo_matrix((np.ones(420), (u, v)), shape=(n, n)), directed=False)
    lowest = {c: int(np.flatnonzero(comp == c).min()) for c in np.unique(comp)}
    assert roots.tolist() == [lowest[c] for c in comp.tolist()]


@pytest.mark.parametrize("n", [2, 50, crowd_fn.BRUTE_FORCE_MAX, crowd_fn.BRUTE_FORCE_MAX + 1, 600])
def test_neighbour_pairs_are_every_pair_within_the_radius(n):
    pts = np.random.default_rng(n).uniform(0, 12, (n, 2))
    pairs = crowd_fn.neighbour_pairs(pts, 1.5)
    d2 = ((pts[:, None] - pts[None]) ** 2).sum(-1)
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(d2 <= 2.25, 1)), strict=True)}
    assert set(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True)) == expected
    assert pairs.d2 == pytest.approx(d2[pairs.i, pairs.j], rel=1e-12)
    near = pairs.within(0.7)
    assert len(near.i) == int(np.count_nonzero(np.triu(d2 <= 0.49, 1)))


def test_median_and_percentile_are_numpys_to_the_bit():
    rng = np.random.default_rng(9)
    for k in range(300):
        v = rng.exponential(1.0, int(rng.integers(1, 60))) * 10 ** rng.uniform(-4, 2)
        if k % 3 == 0:
            v = np.round(v, 1)
        assert crowd_fn.median(v) == np.median(v)
        for q in (0, 10, 50, 90, 99.5, 100):
            assert crowd_fn.percentile(v, q) == np.percentile(v, q)


def test_crowd_stage_measures_match_the_functions():
    setup = setup_for(area_m2=50.0, capacity=40)
    kin, stage = KinematicsStage(setup), CrowdStage(setup)
    packed = np.stack(np.meshgrid(np.arange(6) * 0.45, np.arange(5) * 0.45), -1).reshape(-1, 2)
    phase = np.arange(30)[:, None] * np.array([1.3, 2.1])
    m = walk(kin, lambda t: packed + 8 + 0.1 * np.sin(4 * t + phase), np.arange(30), 0, 2)
    c = stage.update(m)
    assert (c.count, c.density, c.capacity_utilization) == (30, 0.6, 75.0)
    assert (c.level_of_service, c.density_level) == ("A", "SAFE")
    want = crowd_fn.helbing_pressure(m.world, m.velocities, 1.0)
    assert c.pressure == pytest.approx(want.value, rel=1e-12) and c.pressure > 0.02
    assert c.pressure_term == 1.0  # above the turbulence onset
    pairs, dist = crowd_fn.proximity_pairs(m.world, 0.6)
    assert {tuple(p) for p in c.pairs.tolist()} == {tuple(p) for p in pairs.tolist()}
    assert sorted(c.pair_distance_m) == pytest.approx(sorted(dist))
    assert len(c.clusters) == 1 and c.clusters[0].size == 30
    assert c.clusters[0].track_ids == list(range(30))
    assert c.clusters[0].area_m2 == pytest.approx(
        crowd_fn.hull_area_m2(m.world), rel=1e-6
    )  # float32 hull, as before
    stage.reconfigure(setup_for(area_m2=5.0))
    c = stage.update(m)
    assert c.density == 6.0 and c.density_level == "CRITICAL" and c.capacity_utilization is None


# -- surge ------------------------------------------------------------------------------------
def test_surge_stage_mutes_sparse_scenes_and_keeps_samples_on_reconfigure():
    stage = SurgeStage(setup_for())
    for k in range(11):  # 10 → 20 people over 1 s at 1 → 2 p/m²
        s = stage.update(k / 10, 10 + k, (10 + k) / 10)
    assert s == Surge(1.0, pytest.approx(10.0), pytest.approx(1.0))
    stage.reconfigure(setup_for(EngineConfig(surge_rel_change_full=4.0, surge_density_rate_full_pm2s=10)))
    s = stage.update(1.1, 21, 2.1)  # same samples, new scale: +110 % / 4 = 0.275
    assert s.surge == pytest.approx(0.275)
    assert stage.update(1.2, 2, 0.2).surge == 0.0  # below surge_min_density_pm2
    stage.reset()
    assert stage.update(1.3, 40, 4.0) == Surge(0.0, 0.0, 0.0)  # no reference sample yet


# -- zones and lines --------------------------------------------------------------------------
GATE = LineSpec(id=1, name="gate", p1=(0.5, 0.0), p2=(0.5, 1.0), in_side="right")
HALL = ZoneSpec(id=3, name="hall", polygon=[(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)], capacity=10)


def _zones_frame(kin, zl, crowd, pos, ids, t):
    m = kin.update(boxes_at(pos), np.asarray(ids), t, FRAME)
    return zl.update(m, crowd.update(m), t, FRAME)


def test_zones_lines_stage_counts_crossings_once_and_keeps_totals():
    setup = setup_for(zones=[HALL], lines=[GATE])
    kin, crowd, zl = KinematicsStage(setup), CrowdStage(setup), ZonesLinesStage(setup)
    outs = [_zones_frame(kin, zl, crowd, [[5.0 + 0.5 * k, 4.0]], [1], k / 10) for k in range(21)]
    assert sum(p.flow_out for p in outs) == 1 and outs[-1].lines[0].out_total == 1
    assert [p.zones[0].count for p in (outs[0], outs[-1])] == [1, 0]
    assert outs[0].zones[0].capacity_utilization == pytest.approx(10.0)
    assert outs[0].line_points_px == [((500, 0), (500, 1000))]
    assert outs[0].zone_polygons_px[0].tolist() == [[0, 0], [500, 0], [500, 500], [0, 500]]
    zl.reset()  # a restarted source: sides forgotten, totals kept
    back = _zones_frame(kin, zl, crowd, [[5.0, 4.0]], [1], 2.1)
    assert back.flow_in == 0 and back.lines[0].out_total == 1
    zl.reconfigure(setup_for(EngineConfig(density_warning_pm2=3.0), zones=[HALL], lines=[GATE]))
    assert _zones_frame(kin, zl, crowd, [[5.0, 4.0]], [1], 2.2).lines[0].out_total == 1
    zl.reset_counts()
    assert _zones_frame(kin, zl, crowd, [[5.0, 4.0]], [1], 2.3).lines[0].out_total == 0
    moved = LineSpec(id=1, name="gate", p1=(0.4, 0.0), p2=(0.4, 1.0), in_side="right")
    zl.reconfigure(setup_for(zones=[HALL], lines=[moved]))
    assert _zones_frame(kin, zl, crowd, [[5.0, 4.0]], [1], 2.4).line_points_px == [
        ((400, 0), (400, 1000))
    ]


def test_a_slot_taken_over_by_another_track_does_not_inherit_its_side():
    setup = setup_for(lines=[GATE])
    kin, crowd, zl = KinematicsStage(setup), CrowdStage(setup), ZonesLinesStage(setup)
    for k in range(5):  # track 1 stands west of the line ...
        _zones_frame(kin, zl, crowd, [[5.0, 4.0]], [1], k / 10)
    slot = kin.store.slot_of[1]
    # ... is forgotten after the TTL; track 2 gets its slot, east of the line.
    _zones_frame(kin, zl, crowd, np.zeros((0, 2)), [], 3.5)
    p = _zones_frame(kin, zl, crowd, [[15.0, 4.0]], [2], 4.0)
    assert kin.store.slot_of == {2: slot}
    assert p.flow_in + p.flow_out == 0
    # So does track 1 coming back (after the TTL) on the other side.
    _zones_frame(kin, zl, crowd, np.zeros((0, 2)), [], 7.5)
    for k in range(5):
        p = _zones_frame(kin, zl, crowd, [[15.0, 4.0]], [1], 8.0 + k / 10)
        assert p.flow_in + p.flow_out == 0


def test_zone_thresholds_follow_a_new_config():
    engine = CrowdEngine(None, EngineConfig(), calibrated_geometry(zones=[HALL]))
    pos = np.stack(np.meshgrid(np.arange(8) + 1.0, np.arange(4) + 1.0), -1).reshape(-1, 2)
    r = engine.analyse((boxes_at(pos), np.arange(32), None), 0.0, FRAME)
    assert r.zones[0].density == pytest.approx(0.32) and r.zones[0].density_level == "SAFE"
    engine.update_config(
        EngineConfig(density_caution_pm2=0.1, density_warning_pm2=0.2, density_critical_pm2=0.3)
    )
    r = engine.analyse((boxes_at(pos), np.arange(32), None), 0.1, FRAME)
    assert r.zones[0].density_level == "CRITICAL"  # the monolith kept its first thresholds


def test_zone_surge_meters_are_kept_by_zone_id_across_a_geometry_change():
    setup = setup_for(area_m2=100.0, zones=[HALL])
    kin, crowd, zl = KinematicsStage(setup), CrowdStage(setup), ZonesLinesStage(setup)
    grid = np.stack(np.meshgrid(np.arange(10) * 0.4 + 1, np.arange(10) * 0.4 + 1), -1).reshape(-1, 2)
    for k in range(6):  # 50 → 100 people in the 100 m² hall: density 0.5 → 1 p/m²
        n = 50 + 10 * k
        p = _zones_frame(kin, zl, crowd, grid[:n], np.arange(n), k / 10)
    risk_before = p.zones[0].risk_score
    renamed = dataclasses.replace(HALL, name="main hall")
    zl.reconfigure(setup_for(area_m2=100.0, zones=[renamed]))
    p = _zones_frame(kin, zl, crowd, grid, np.arange(100), 0.6)
    assert p.zones[0].name == "main hall"
    assert p.zones[0].risk_score == pytest.approx(risk_before, abs=0.02)  # surge still seen
    zl.reconfigure(setup_for(area_m2=100.0, zones=[dataclasses.replace(HALL, id=4)]))
    p = _zones_frame(kin, zl, crowd, grid, np.arange(100), 0.7)
    assert p.zones[0].risk_score < risk_before - 0.1  # a new zone: no surge history


# -- risk -------------------------------------------------------------------------------------
def test_risk_stage_scores_with_the_camera_thresholds():
    setup = setup_for(area_m2=5.0)
    kin, crowd, risk = KinematicsStage(setup), CrowdStage(setup), RiskStage(setup)
    pos = np.stack(np.meshgrid(np.arange(6) * 0.4 + 5, np.arange(5) * 0.4 + 5), -1).reshape(-1, 2)
    m = walk(kin, lambda t: pos, np.arange(30), 0, 1)
    c = crowd.update(m)
    r = risk.update(c, Surge(0.0, 0.0, 0.0), m)
    want, parts = risk_score(RiskInputs(6.0, 0.0, 0.0, 0.0, 0.0), EngineConfig())
    assert (r.score, r.components, r.level) == (want, parts, "CRITICAL")
    cfg = EngineConfig(density_caution_pm2=10, density_warning_pm2=20, density_critical_pm2=30)
    risk.reconfigure(setup_for(cfg, area_m2=5.0))
    r = risk.update(c, Surge(0.0, 0.0, 0.0), m)
    want, _ = risk_score(RiskInputs(6.0, 0.0, 0.0, 0.0, 0.0), cfg, RiskThresholds(10, 20, 30))
    assert r.score == want and r.level == "CAUTION"


# -- trend ------------------------------------------------------------------------------------
def test_trend_stage_reconfigure_keeps_the_trend_and_resizes_the_history():
    stage = TrendStage(setup_for())
    for k in range(100):
        tr = stage.update(k / 10, k, k / 50, 0.5)
    assert tr.density.label == "rising" and len(tr.count_history) == 60
    assert tr.count_history[-1] == 99.0 and tr.risk_history[-1] == 0.5
    level = tr.density.ema
    stage.reconfigure(setup_for(EngineConfig(forecast_horizon_s=10.0, sparkline_length=20)))
    tr = stage.update(10.0, 100, 2.0, 0.5)
    assert tr.density.horizon_s == 10.0 and tr.density.ema > level  # carried on, not restarted
    assert tr.count_history.tolist() == [float(v) for v in range(81, 101)]
    stage.reset(keep_history=True)  # a looped source: trends restart, sparklines stay
    tr = stage.update(0.0, 5, 0.1, 0.2)
    assert tr.density.ema == 0.1 and tr.density.slope_per_s == 0.0
    assert len(tr.count_history) == 20 and tr.count_history[-1] == 5.0
    stage.reset()
    assert stage.update(0.1, 5, 0.1, 0.2).count_history.tolist() == [5.0]


# -- the assembled engine ---------------------------------------------------------------------
def _scene(k_frame: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``k_frame`` of a fixed scene (formulas, no RNG): 90 walkers and runners, a
    jostling group of 25, some untracked, some missed now and then."""
    t = k_frame / 10
    k = np.arange(90)
    x0 = 40 + ((k * 0.6180339887498949) % 1.0) * 1200
    y0 = 120 + ((k * 0.7548776662466927) % 1.0) * 580
    ang = k * 2.399963229728653
    speed = np.where(k % 13 == 0, 140.0, 8 + (k % 7) * 9.0)  # px/s
    g = np.arange(25)
    gx = 560 + (g % 5) * 11 + 4 * np.sin(4 * t + g * 1.7)
    gy = 380 + (g // 5) * 11 + 4 * np.cos(3 * t + g * 2.3)
    walkers = np.stack([x0 + np.cos(ang) * speed * t, y0 + np.sin(ang) * speed * t], 1)
    feet = np.concatenate([walkers, np.stack([gx, gy], 1)])
    ids = np.concatenate([k + 1, 1000 + g])
    ids = np.where(ids % 17 == 0, -1, ids)
    keep = (np.arange(len(ids)) + k_frame) % 11 != 0
    feet, ids = feet[keep], ids[keep]
    boxes = np.stack([feet[:, 0] - 12, feet[:, 1] - 60, feet[:, 0] + 12, feet[:, 1]], 1)
    conf = 0.4 + 0.5 * ((np.arange(len(ids)) * 0.37) % 1.0)
    return t, boxes, ids.astype(np.int64), conf


def _golden_geometry() -> CameraGeometry:
    return CameraGeometry(
        area_m2=400.0,
        capacity=150,
        calibration_image_points=[(0, 0), (1, 0), (1, 1), (0, 1.0)],
        calibration_world_points=[(0, 0), (30, 0), (33, 20), (-2, 18)],
        zones=[
            ZoneSpec(3, "stage", [(0.1, 0.1), (0.6, 0.1), (0.5, 0.7), (0.1, 0.5)], capacity=40),
            ZoneSpec(
                "exit",
                "exit",
                [(0.4, 0.45), (0.55, 0.45), (0.55, 0.7), (0.4, 0.7)],
                area_m2=6.0,
                density_warning=1.0,
                density_critical=2.0,
            ),
        ],
        lines=[
            LineSpec(1, "gate", (0.5, 0.0), (0.5, 1.0), in_side="right"),
            LineSpec("h", "h", (0.0, 0.4), (0.8, 0.45)),
        ],
    )


def _close(got, want, path: str = "") -> None:
    """Equal, floats to 1e-9 (the recording keeps 12 digits): summation order may differ."""
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for key in want:
            _close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-11), f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def test_the_stages_reproduce_the_monolith_frame_by_frame():
    recorded = json.loads(GOLDEN.read_text())["frames"]
    # Recorded before pressure was gated on local density: the gate off reproduces it.
    engine = CrowdEngine(None, EngineConfig(pressure_min_density_pm2=0.0), _golden_geometry())
    skip = {"render_data", "timings_ms", "persons", "count_quality", "tiling", "imgsz", "imgsz_note"}
    for k, want in enumerate(recorded):
        t, boxes, ids, conf = _scene(k)
        r = engine.analyse((boxes, ids, conf), t, (1280, 720))
        got = {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name not in skip}
        if "persons" in want:
            got["persons"] = [dataclasses.asdict(p) for p in r.persons]
        got = json.loads(json.dumps(got, default=dataclasses.asdict))
        _close(got, want, f"frame {k}")
    # The scene exercises what it is meant to.
    last = recorded[-1]
    assert last["num_clusters"] > 0 and last["pressure"] > 0.02 and last["anomalies"]
    assert sum(ln["in_total"] + ln["out_total"] for ln in last["lines"]) > 0
    assert last["zones"][1]["density_level"] == "CRITICAL"
    assert any(p["track_id"] is None for p in last["persons"])


def test_a_result_is_not_changed_by_later_frames():
    engine = CrowdEngine(None, EngineConfig(), _golden_geometry())
    t, boxes, ids, conf = _scene(0)
    first = engine.analyse((boxes, ids, conf), t, (1280, 720))
    before = first.to_dict()
    rd = first.render_data
    assert rd is not None
    arrays = [a.copy() for a in (rd.boxes, rd.speeds, rd.feet, rd.count_history)]
    polygons, segments = list(rd.zone_polygons_px), list(rd.line_points_px)
    for k in range(1, 15):
        engine.analyse(_scene(k)[1:], k / 10, (1280, 720))
    after = first.to_dict()
    before.pop("timings_ms"), after.pop("timings_ms")
    assert after == before
    for a, b in zip(arrays, (rd.boxes, rd.speeds, rd.feet, rd.count_history), strict=True):
        np.testing.assert_array_equal(a, b)
    assert rd.zone_polygons_px == polygons and rd.line_points_px == segments
