"""Counts that hold in dense and distant crowds: tiling, merging, filters, count quality and
Helbing's crowd pressure (issue #10). Pure functions first, then the real detector."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from analytics.engine import CrowdEngine, EngineConfig
from analytics.engine.crowd import helbing_pressure
from analytics.engine.evaluation import match_heads
from analytics.engine.people import filter_boxes
from analytics.engine.quality import DetectionEvidence, ViewMeter, count_quality
from analytics.engine.tiling import TilingPolicy, merge_boxes, plan_tiles

from .conftest import FRAME, boxes_at, calibrated_geometry


# -- Helbing, Johansson & Al-Abideen (2007) pressure ---------------------------------------
def brute_force_pressure(pos: np.ndarray, vel: np.ndarray, i: int, radius: float) -> float:
    d2 = np.sum((pos - pos[i]) ** 2, axis=1)
    f = np.exp(-d2 / radius**2) / (np.pi * radius**2)
    rho = f.sum()
    u = (f[:, None] * vel).sum(axis=0) / f.sum()
    var = (f * np.sum((vel - u) ** 2, axis=1)).sum() / f.sum()
    return rho * var


def test_two_people_walking_side_by_side_read_zero_pressure():
    pos = np.array([[5.0, 5.0], [5.6, 5.0]])
    vel = np.array([[1.3, 0.0], [1.3, 0.0]])
    assert helbing_pressure(pos, vel).value == 0.0


def test_two_people_passing_each_other_alone_read_zero_pressure():
    pos = np.array([[5.0, 5.0], [5.8, 5.0]])
    vel = np.array([[1.3, 0.0], [-1.3, 0.0]])
    assert helbing_pressure(pos, vel).value == 0.0  # no crowd around them


def test_pressure_is_density_times_local_velocity_variance_in_s2():
    rng = np.random.default_rng(3)
    pos = np.stack(np.meshgrid(np.arange(6) * 0.45, np.arange(6) * 0.45), axis=-1).reshape(-1, 2)
    vel = rng.normal(0.0, 0.4, pos.shape)
    p = helbing_pressure(pos, vel, radius_m=1.0, min_density_pm2=0.0)  # the bare formula
    for i in (0, 14, 35):
        # The sum stops at 3R, where the Gaussian is 1e-4 of its peak.
        assert p.per_person[i] == pytest.approx(brute_force_pressure(pos, vel, i, 1.0), rel=1e-3)
    assert p.value == pytest.approx(np.percentile(p.per_person, 90))
    assert helbing_pressure(pos, vel).value > 0.02  # a packed, jostling crowd is past the onset
    # Units: velocities ×2 → variance ×4 → pressure ×4 (s⁻² = p/m² × (m/s)²).
    assert helbing_pressure(pos, 2 * vel, min_density_pm2=0.0).value == pytest.approx(4 * p.value, rel=1e-9)


def test_a_loose_counterflow_is_not_pressure():
    # 16 people crossing a concourse in rows going opposite ways, 1 m apart: about 1 p/m²
    # around each. Nobody touches anyone; the bare formula still reads far past the
    # turbulence onset, the product's figure reads 0.
    pos = np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0)), axis=-1).reshape(-1, 2)
    vel = np.where((pos[:, 1] % 2 == 0)[:, None], [1.3, 0.0], [-1.3, 0.0])
    bare = helbing_pressure(pos, vel, min_density_pm2=0.0)
    assert bare.value > 0.5 and bare.local_density.max() < 2.0
    assert helbing_pressure(pos, vel).value == 0.0
    # The same counterflow squeezed to 0.4 m apart (about 3 p/m² inside) is pressure.
    squeezed = helbing_pressure(pos * 0.4, vel)
    assert squeezed.value > 0.02 and squeezed.local_density.max() > 2.0


def test_unknown_velocities_count_for_density_not_variance():
    pos = np.array([[0.0, 0.0], [0.3, 0.0], [0.0, 0.3], [0.3, 0.3]])
    vel = np.array([[1.0, 0.0], [np.nan, np.nan], [-1.0, 0.0], [1.0, 0.0]])
    p = helbing_pressure(pos, vel, min_neighbours=0.5, min_density_pm2=0.0)
    assert np.isnan(p.per_person[1]) and np.isfinite(p.per_person[0])
    assert p.local_density[1] == pytest.approx(p.local_density[2], rel=1e-9)  # symmetric spots


def test_live_surge_figure_is_zero_in_a_sparse_scene():
    # 5 → 10 people in 400 m² (0.025 p/m²): a doubling, but an empty hall.
    eng = CrowdEngine(None, EngineConfig(), calibrated_geometry())
    five = np.array([[2.0 + 3 * k, 5.0] for k in range(5)])
    ten = np.array([[2.0 + 1.5 * k, 9.0] for k in range(10)])
    for k in range(30):
        pos = five if k < 15 else ten
        r = eng.analyse((boxes_at(pos), np.arange(len(pos)), None), k / 5, FRAME)
    assert r.surge == 0.0
    # The same doubling in 8 m² (1.25 p/m²) is a surge.
    dense = CrowdEngine(None, EngineConfig(), calibrated_geometry(area_m2=8.0))
    for k in range(30):
        pos = five if k < 15 else ten
        r = dense.analyse((boxes_at(pos), np.arange(len(pos)), None), k / 5, FRAME)
    assert r.surge > 0.5


# -- filters, tiles and merging ---------------------------------------------------------
def test_person_cut_by_the_frame_edge_is_not_dropped_by_the_aspect_filter():
    boxes = np.array(
        [
            [0, 100, 18, 300],  # legs at the left edge: 18 × 200 px (aspect 11)
            [600, 0, 640, 180],  # shoulder at the top right corner
            [300, 100, 318, 300],  # the same shape in the middle: a pole, not a person
        ],
        np.float32,
    )
    assert filter_boxes(boxes, (640, 360), 1e-4, 5.0).tolist() == [True, True, False]


def test_a_person_cut_by_a_tile_edge_becomes_one_box():
    # Tile A ends at x=320, tile B starts at x=256: the person spans x 280..340.
    halves = np.array([[280, 100, 320, 200], [256, 100, 340, 200]], np.float32)
    boxes, conf, _ = merge_boxes(halves, np.array([0.6, 0.7], np.float32), np.array([1, 2]))
    assert len(boxes) == 1
    assert boxes[0].tolist() == [256, 100, 340, 200] and conf[0] == pytest.approx(0.7)


def test_full_frame_box_and_its_tile_box_merge_but_two_people_of_one_pass_do_not():
    xyxy = np.array(
        [
            [100, 100, 160, 260],  # full frame: a close person
            [102, 98, 158, 262],  # the same person in a tile
            [130, 120, 190, 280],  # someone half behind them, same (full-frame) pass
        ],
        np.float32,
    )
    boxes, _, kept = merge_boxes(xyxy, np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 3, 0]))
    assert len(boxes) == 2 and sorted(kept.tolist()) == [0, 2]


def test_a_coarse_box_around_a_group_gives_way_to_the_people_a_tile_told_apart():
    xyxy = np.array(
        [
            [100, 100, 220, 300],  # full frame, high score: one loose box around two people
            [102, 104, 158, 296],  # tile 2: the left one
            [160, 102, 218, 298],  # tile 2: the right one
        ],
        np.float32,
    )
    boxes, _, kept = merge_boxes(xyxy, np.array([0.9, 0.6, 0.5], np.float32), np.array([0, 2, 2]))
    assert sorted(kept.tolist()) == [1, 2]
    assert boxes.tolist() == xyxy[1:].tolist()  # the tile's boxes as found, not a union


def test_a_torso_box_inside_its_person_is_no_group():
    xyxy = np.array(
        [
            [100, 100, 160, 300],  # full frame: the person
            [101, 101, 159, 299],  # tile 1: the same person
            [104, 104, 156, 200],  # tile 1: their upper body (NMS kept it: IoU < 0.5)
        ],
        np.float32,
    )
    boxes, _, kept = merge_boxes(xyxy, np.array([0.9, 0.6, 0.5], np.float32), np.array([0, 1, 1]))
    assert kept.tolist() == [0]  # one person, the full frame's box


@pytest.mark.parametrize(
    ("frame", "person_px"),
    [((640, 360), 16.0), ((1920, 1080), 70.0), ((1280, 720), 30.0)],
)
def test_tiles_bring_the_smallest_person_to_40_px_at_the_network_input(frame, person_px):
    plan = plan_tiles(frame, 640, person_px, max_tiles=40)
    assert plan is not None
    x0, y0, x1, y1 = plan.tiles[0]
    scale = 640 / max(x1 - x0, y1 - y0)
    assert person_px * scale >= 40 - 1e-6
    # Tiles cover the whole frame.
    cover = np.zeros((frame[1], frame[0]), bool)
    for x0, y0, x1, y1 in plan.tiles:
        cover[y0:y1, x0:x1] = True
    assert cover.all()


def test_no_tiles_when_the_full_frame_already_resolves_people():
    assert plan_tiles((768, 576), 640, 80.0) is None  # 80 px × 0.83 = 67 px at the input


def test_tile_count_is_capped():
    plan = plan_tiles((1920, 1080), 640, 12.0, max_tiles=12)
    assert plan is not None and len(plan.tiles) <= 12


def test_auto_policy_probes_only_when_the_detector_struggles():
    pol = TilingPolicy("auto", recheck_s=30.0)
    assert pol.decide(0.0).probe  # one look with tiles at start
    pol.observe(0.0, n_full=6, n_tiled=6, struggling=False)
    for k in range(1, 100):  # a sparse, clear scene: no other tiled frame
        assert not pol.decide(k * 0.1).tiles
        pol.observe(k * 0.1, n_full=6, n_tiled=None, struggling=False)
    pol.observe(30.0, n_full=6, n_tiled=None, struggling=False)
    assert not pol.decide(30.1).tiles
    pol.observe(31.0, n_full=6, n_tiled=None, struggling=True)
    assert pol.decide(31.1).probe  # the detector struggles: look again
    pol.observe(31.1, n_full=6, n_tiled=7, struggling=True)  # tiles do not pay
    assert not pol.active
    pol.observe(32.0, n_full=6, n_tiled=None, struggling=True)
    assert not pol.decide(32.1).tiles  # no new probe within recheck_s of a failed one
    pol.observe(61.2, n_full=6, n_tiled=None, struggling=True)
    assert pol.decide(61.3).probe  # re-decides from time to time


def test_auto_policy_turns_on_when_tiles_pay_refines_and_turns_off():
    pol = TilingPolicy("auto", recheck_s=30.0)
    pol.observe(0.1, n_full=10, n_tiled=30, struggling=True)
    assert pol.active
    refine = pol.decide(0.2)  # finer tiles are tried at once, on the next frame
    assert refine.tiles and refine.probe and refine.zoom == pytest.approx(pol.refine)
    pol.observe(0.2, n_full=10, n_tiled=40, struggling=True, zoom=refine.zoom)
    assert pol.zoom == pytest.approx(pol.refine)  # 40 ≥ 1.15 × 30: kept
    nxt = pol.decide(0.3)  # it paid: the next step follows on the next frame too
    assert nxt.probe and nxt.zoom == pytest.approx(pol.refine**2)
    pol.observe(0.3, n_full=10, n_tiled=41, struggling=True, zoom=nxt.zoom)
    assert pol.zoom == pytest.approx(pol.refine)  # 41 vs 40: not worth finer tiles
    assert pol.decide(0.4).tiles and not pol.decide(29.0).probe  # ...nor another try for a while
    assert pol.decide(30.4).probe
    for k in range(30):  # the crowd leaves: tiles find what the full frame finds
        if not pol.decide(5.0 + k * 0.1).tiles:
            break
        pol.observe(5.0 + k * 0.1, n_full=5, n_tiled=5, struggling=False, zoom=pol.zoom)
    assert 0 < k < 20 and not pol.active and pol.zoom == 1.0
    assert "no longer pay" in pol.reason


def test_off_and_on_modes_do_not_adapt():
    on, off = TilingPolicy("on"), TilingPolicy("off")
    on.observe(0.0, 10, 10, False)
    off.observe(0.0, 10, None, True)
    assert on.decide(5.0).tiles and not off.decide(5.0).tiles
    with pytest.raises(ValueError, match="tiling mode"):
        TilingPolicy("sometimes")


# -- count quality -------------------------------------------------------------------------
def textured(seed: int = 0, size=(360, 640)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size[0] // 8, size[1] // 8, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(base, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def test_view_meter_flags_blur_dark_obstructed_and_a_moved_camera():
    import cv2

    meter = ViewMeter()
    frame = textured()
    for k in range(10):
        assert meter.check(frame, k * 0.1).reasons == ()
    blurred = cv2.GaussianBlur(frame, (0, 0), 8)
    assert "blur" in meter.check(blurred, 1.1).reasons
    assert meter.check((frame * 0.05).astype(np.uint8), 1.2).reasons[:1] == ("dark",)
    covered = np.full_like(frame, 128)
    check = meter.check(covered, 1.3)
    assert "obstructed" in check.reasons and check.unusable
    moved = np.roll(frame, 80, axis=1)
    assert "camera_moved" in meter.check(moved, 1.4).reasons
    assert meter.check(frame, 1.5).reasons == ()


def test_people_walking_through_a_still_view_do_not_read_as_a_camera_move(vtest_path):
    # vtest.avi: a fixed camera, up to a dozen people crossing it for 30 s. (OpenCV's phase
    # correlation windowed the reference in place, wearing it away: read as a move at 5 s.)
    cap = cv2.VideoCapture(str(vtest_path))
    meter = ViewMeter()
    moved = []
    for k in range(300):
        ok, frame = cap.read()
        assert ok
        if "camera_moved" in meter.check(frame, k / 10).reasons:
            moved.append(k)
    cap.release()
    assert moved == []
    # ... while the same view shifted by 40 px is one.
    assert "camera_moved" in meter.check(np.roll(frame, 40, axis=1), 30.0).reasons


def test_small_boxes_stop_counting_against_the_count_once_tiles_found_nobody_more():
    ev = dict(heights_at_input=np.full(10, 45.0), max_iou=np.zeros(10), saturated=False)
    assert count_quality(None, DetectionEvidence(10, 0, **ev), 40.0).reasons == ["small_boxes"]
    checked = DetectionEvidence(10, 0, **ev, resolution_checked=True)
    assert count_quality(None, checked, 40.0).level == "ok"
    policy = TilingPolicy("auto", recheck_s=30.0)
    assert not policy.resolution_checked(0.0)
    policy.decide(0.0)
    policy.observe(0.0, n_full=10, n_tiled=10, struggling=True)  # the probe: no gain
    assert policy.resolution_checked(1.0) and policy.resolution_checked(119.0)
    assert not policy.resolution_checked(121.0)  # stale: small boxes count again, auto re-probes


def evidence(count: int, candidates: int, small_share: float = 0.0, saturated=False) -> DetectionEvidence:
    heights = np.full(count, 100.0)
    heights[: int(round(count * small_share))] = 30.0
    return DetectionEvidence(count, candidates, heights, np.zeros(count), saturated)


def test_quality_levels_and_the_undercount_estimate():
    ok = count_quality(None, evidence(20, 3), 40.0)
    assert (ok.level, ok.reasons, ok.undercount_factor) == ("ok", [], None)
    small = count_quality(None, evidence(20, 3, small_share=0.5), 40.0)
    assert small.level == "degraded" and small.reasons == ["small_boxes"]
    packed = count_quality(None, evidence(8, 110), 40.0)
    assert packed.level == "unreliable" and "faint" in packed.reasons
    assert packed.estimated_count == 8 + 55 and packed.undercount_factor == pytest.approx(63 / 8, abs=0.01)
    nobody = count_quality(None, evidence(0, 30), 40.0)
    assert nobody.level == "unreliable" and nobody.estimated_count == 15
    assert nobody.undercount_factor is None  # no ratio to nobody
    full = count_quality(None, evidence(950, 0, saturated=True), 40.0)
    assert full.level == "unreliable" and full.reasons == ["saturated"]
    # People filling the view edge to edge: those behind the front rows are hidden.
    packed_view = DetectionEvidence(150, 20, np.full(150, 100.0), np.zeros(150), False, coverage=0.9)
    q = count_quality(None, packed_view, 40.0)
    assert q.level == "unreliable" and "saturated" in q.reasons and q.estimated_count == 160


def test_unconfirmed_boxes_count_by_how_often_they_were_people():
    # Half of the faint boxes and a fifth of the weaker ones (the dev set's calibration).
    plaza_like = DetectionEvidence(25, 12, np.full(25, 100.0), np.zeros(25), False, weak=4)
    q = count_quality(None, plaza_like, 40.0)
    assert (q.level, q.reasons, q.estimated_count) == ("degraded", ["faint"], 32)
    assert q.undercount_factor == pytest.approx(32 / 25, abs=0.01)
    # A clear street: a few unconfirmed boxes are noise, not a hidden crowd.
    street_like = DetectionEvidence(38, 4, np.full(38, 100.0), np.zeros(38), False, weak=9)
    assert count_quality(None, street_like, 40.0).level == "ok"
    # Weak boxes alone need to be many before they say anything.
    assert count_quality(None, evidence(30, 0), 40.0).level == "ok"
    weak_only = DetectionEvidence(10, 0, np.full(10, 100.0), np.zeros(10), False, weak=40)
    assert count_quality(None, weak_only, 40.0).level == "unreliable"
    # A packed stand with tiling off: a dozen weak shapes and nobody confirmed is no empty
    # scene (the calibrated estimate alone, 2.9 people, would have said ok).
    stand_untiled = DetectionEvidence(0, 1, np.zeros(0), np.zeros(0), False, weak=12)
    q = count_quality(None, stand_untiled, 40.0)
    assert q.level == "unreliable" and q.reasons == ["faint"]


def test_box_coverage_is_the_share_of_the_frame_under_boxes():
    from analytics.engine.quality import box_coverage

    boxes = np.array([[0, 0, 320, 360], [160, 0, 480, 360]], np.float32)  # overlap counted once
    assert box_coverage(boxes, (640, 360)) == pytest.approx(0.75, abs=0.02)
    assert box_coverage(np.zeros((0, 4)), (640, 360)) == 0.0


def test_heads_are_matched_to_boxes_one_to_one():
    # Two people side by side under one coarse box, a third alone, a box on nobody.
    boxes = np.array([[0, 0, 40, 60], [100, 0, 120, 50], [200, 200, 220, 240]], float)
    heads = [(10, 5), (30, 5), (110, 4)]
    m = match_heads(boxes, heads)
    assert (m.found, m.boxes_on_nobody) == (2, 1)  # the coarse box counts one person
    # Overlapping boxes in an overhead view: each head goes to the box whose top it is at.
    boxes = np.array([[0, 0, 30, 80], [10, 20, 40, 100]], float)
    assert match_heads(boxes, [(15, 5), (25, 25)]).found == 2
    assert match_heads(boxes, [(300, 300)]).found == 0
    assert match_heads(np.zeros((0, 4)), heads).found == 0

