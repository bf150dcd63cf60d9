"""Kinematics stage: foot points, ground positions, speeds, directions, coherence, trails."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..crowd import flow_coherence
from ..kinematics import TrackStore, velocities_from_motion
from .base import Setup

_NO_TRAIL = np.zeros((0, 2))


@dataclass(frozen=True, slots=True)
class Motion:
    """Where this frame's people stand and how they move (N people, T of them tracked)."""

    xyxy: np.ndarray  # (N, 4) boxes, px
    ids: np.ndarray  # (N,) track IDs, -1 untracked
    feet: np.ndarray  # (N, 2) bottom centre of each box, px
    world: np.ndarray  # (N, 2) ground position, m
    tracked: np.ndarray  # (T,) indices of the tracked people
    slots: np.ndarray  # (T,) their history slots
    serials: np.ndarray  # (T,) their slot tenures (a new number when a slot gets a new track)
    speeds: np.ndarray  # (N,) m/s, NaN unknown
    known: np.ndarray  # (N,) bool: speed known
    any_known: bool
    directions: np.ndarray  # (N, 2) unit, image; (0, 0) when not moving
    velocities: np.ndarray  # (N, 2) m/s on the ground, NaN unknown
    avg_speed: float  # m/s over known speeds (0 when none)
    max_speed: float
    coherence: float  # 0..1 over the coherence window
    trails: list[np.ndarray]  # per person (k, 2) px, oldest first

    @property
    def speed_for_risk(self) -> float | None:
        """The average speed, or None while no speed is known."""
        return self.avg_speed if self.any_known else None


class KinematicsStage:
    """Keeps each track's position history (source time) and reads motion from it."""

    def __init__(self, setup: Setup) -> None:
        c = setup.config
        self.store = TrackStore(c.history_length, c.track_ttl_s)
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        c = setup.config
        if (self.store.length, self.store.ttl_s) != (max(2, int(c.history_length)), c.track_ttl_s):
            self.store = TrackStore(c.history_length, c.track_ttl_s)
        self._mapper = setup.mapper
        self._windows = (c.velocity_window_s, c.coherence_window_s)
        self._min_move_m = c.coherence_min_move_m
        self._trail_length = c.trail_length

    def reset(self) -> None:
        self.store.reset()

    def update(
        self, xyxy: np.ndarray, ids: np.ndarray, t: float, frame_size: tuple[int, int]
    ) -> Motion:
        n = len(xyxy)
        feet = np.empty((n, 2))
        feet[:, 0] = (xyxy[:, 0] + xyxy[:, 2]) / 2
        feet[:, 1] = xyxy[:, 3]
        world = self._mapper.to_world(feet, frame_size)
        tracked = np.flatnonzero(ids >= 0)
        everyone = len(tracked) == n  # the usual case: no scattering into (N,) arrays
        store = self.store
        if everyone:
            slots = store.update(ids, t, feet, world)
        else:
            slots = store.update(ids[tracked], t, feet[tracked], world[tracked])
        store.prune(t)
        coherence = 0.0
        if len(tracked):
            step, span = store.motions(slots, t, self._windows)
            vel, speeds, directions = velocities_from_motion(*step)
            known = np.isfinite(speeds)
            vel[~known] = np.nan
            coherence = self._coherence(*span)
            trails = store.trails(slots, self._trail_length)
            if not everyone:
                speeds, directions, vel, trails, known = _scatter(
                    n, tracked, speeds, directions, vel, trails
                )
        else:
            speeds = np.full(n, np.nan)
            directions = np.zeros((n, 2))
            vel = np.full((n, 2), np.nan)
            known = np.zeros(n, dtype=bool)
            trails = [_NO_TRAIL] * n
        moving = speeds[known]
        any_known = len(moving) > 0
        return Motion(
            xyxy=xyxy,
            ids=ids,
            feet=feet,
            world=world,
            tracked=tracked,
            slots=slots,
            serials=store.serial[slots],
            speeds=speeds,
            known=known,
            any_known=any_known,
            directions=directions,
            velocities=vel,
            # np.mean's own sum and division, without its overhead
            avg_speed=float(moving.sum() / len(moving)) if any_known else 0.0,
            max_speed=float(moving.max()) if any_known else 0.0,
            coherence=coherence,
            trails=trails if len(trails) == n else [_NO_TRAIL] * n,
        )

    def _coherence(
        self, world_d: np.ndarray, img_d: np.ndarray, dt: np.ndarray, valid: np.ndarray
    ) -> float:
        """Coherence over the longer window, on ground directions of people who really moved."""
        if len(valid) < 2:
            return 0.0
        dist = np.hypot(world_d[:, 0], world_d[:, 1])
        movers = valid & (dist >= self._min_move_m)
        if np.count_nonzero(movers) < 2:
            return 0.0
        return flow_coherence(world_d[movers] / dist[movers, None])


def _scatter(
    n: int,
    tracked: np.ndarray,
    speeds_t: np.ndarray,
    directions_t: np.ndarray,
    vel_t: np.ndarray,
    trails_t: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Per-tracked-person values → per-person arrays (untracked: unknown, still, no trail)."""
    speeds = np.full(n, np.nan)
    speeds[tracked] = speeds_t
    directions = np.zeros((n, 2))
    directions[tracked] = directions_t
    vel = np.full((n, 2), np.nan)
    vel[tracked] = vel_t
    trails: list[np.ndarray] = [_NO_TRAIL] * n
    for i, tr in zip(tracked.tolist(), trails_t, strict=False):
        trails[i] = tr
    return speeds, directions, vel, trails, np.isfinite(speeds)
