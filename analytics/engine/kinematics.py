"""Per-track position history and velocities, vectorised over all tracks of one camera.

Histories live in fixed-size numpy ring buffers (one row per track slot) so velocities,
directions and trails for hundreds of people are a few array operations per frame, not a
Python loop over people. Time is always the source timestamp passed in.
"""

from __future__ import annotations

import numpy as np


class TrackStore:
    """Ring-buffer history of the last ``length`` foot positions of every live track."""

    def __init__(self, length: int = 60, ttl_s: float = 3.0, capacity: int = 64) -> None:
        self.length = max(2, int(length))
        self.ttl_s = float(ttl_s)
        self.slot_of: dict[int, int] = {}
        self._free: list[int] = []
        self._alloc(capacity)
        self.n_lines = 0

    # -- storage ---------------------------------------------------------------------------
    def _alloc(self, capacity: int) -> None:
        L = self.length
        self.t = np.full((capacity, L), np.nan)
        self.img = np.zeros((capacity, L, 2))
        self.world = np.zeros((capacity, L, 2))
        self.n = np.zeros(capacity, dtype=np.int64)  # samples written (ring index = n % L)
        self.last_seen = np.full(capacity, -np.inf)
        self.track_id = np.full(capacity, -1, dtype=np.int64)
        self.line_side = np.zeros((capacity, 0), dtype=np.int8)
        self._free = list(range(capacity - 1, -1, -1))

    def _grow(self) -> None:
        old = self.t.shape[0]
        new = old * 2
        self.t = np.vstack([self.t, np.full((old, self.length), np.nan)])
        self.img = np.concatenate([self.img, np.zeros((old, self.length, 2))])
        self.world = np.concatenate([self.world, np.zeros((old, self.length, 2))])
        self.n = np.concatenate([self.n, np.zeros(old, dtype=np.int64)])
        self.last_seen = np.concatenate([self.last_seen, np.full(old, -np.inf)])
        self.track_id = np.concatenate([self.track_id, np.full(old, -1, dtype=np.int64)])
        self.line_side = np.vstack(
            [self.line_side, np.zeros((old, self.line_side.shape[1]), dtype=np.int8)]
        )
        self._free = list(range(new - 1, old - 1, -1)) + self._free

    def set_line_count(self, n_lines: int) -> None:
        """Counting lines changed: forget every track's remembered side."""
        self.n_lines = n_lines
        self.line_side = np.zeros((self.t.shape[0], n_lines), dtype=np.int8)

    def _clear_slot(self, s: int) -> None:
        self.t[s] = np.nan
        self.n[s] = 0
        self.last_seen[s] = -np.inf
        self.track_id[s] = -1
        self.line_side[s] = 0

    def reset(self) -> None:
        self.slot_of.clear()
        self._alloc(max(64, self.t.shape[0]))
        self.line_side = np.zeros((self.t.shape[0], self.n_lines), dtype=np.int8)

    def __len__(self) -> int:
        return len(self.slot_of)

    # -- per frame -------------------------------------------------------------------------
    def update(
        self, track_ids: np.ndarray, t: float, feet_px: np.ndarray, world_m: np.ndarray
    ) -> np.ndarray:
        """Append this frame's positions; returns the slot index of each track."""
        slots = np.empty(len(track_ids), dtype=np.int64)
        for i, tid in enumerate(track_ids.tolist()):
            s = self.slot_of.get(tid)
            if s is None:
                if not self._free:
                    self._grow()
                s = self._free.pop()
                self._clear_slot(s)
                self.slot_of[tid] = s
                self.track_id[s] = tid
            slots[i] = s
        if len(slots):
            idx = self.n[slots] % self.length
            self.t[slots, idx] = t
            self.img[slots, idx] = feet_px
            self.world[slots, idx] = world_m
            self.n[slots] += 1
            self.last_seen[slots] = t
        return slots

    def prune(self, t: float) -> None:
        """Forget tracks not seen for ``ttl_s`` seconds of source time."""
        stale = [tid for tid, s in self.slot_of.items() if self.last_seen[s] < t - self.ttl_s]
        for tid in stale:
            s = self.slot_of.pop(tid)
            self._clear_slot(s)
            self._free.append(s)

    def _reference_sample(self, slots: np.ndarray, t: float, window_s: float) -> np.ndarray:
        """Ring index of the oldest sample within ``window_s`` before ``t`` (else the newest
        earlier one); -1 where a track has no earlier sample."""
        T = self.t[slots]  # (N, L)
        earlier = np.isfinite(T) & (t - 1e-9 > T)
        in_window = earlier & (t - window_s - 1e-9 <= T)
        oldest_in = np.argmin(np.where(in_window, T, np.inf), axis=1)
        newest_before = np.argmax(np.where(earlier, T, -np.inf), axis=1)
        idx = np.where(in_window.any(axis=1), oldest_in, newest_before)
        return np.where(earlier.any(axis=1), idx, -1)

    def motion(
        self, slots: np.ndarray, t: float, window_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Displacement over about ``window_s`` seconds ending now.

        Returns ``(world_disp_m (N,2), image_disp_px (N,2), dt_s (N,), valid (N,))``.
        """
        n = len(slots)
        if n == 0:
            z = np.zeros((0, 2))
            return z, z, np.zeros(0), np.zeros(0, dtype=bool)
        ref = self._reference_sample(slots, t, window_s)
        valid = ref >= 0
        cur = (self.n[slots] - 1) % self.length
        refc = np.where(valid, ref, cur)
        dt = t - self.t[slots, refc]
        world_d = self.world[slots, cur] - self.world[slots, refc]
        img_d = self.img[slots, cur] - self.img[slots, refc]
        dt = np.where(valid, dt, 0.0)
        return world_d, img_d, dt, valid

    def velocities(
        self, slots: np.ndarray, t: float, window_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground velocity (N, 2) in m/s, speed (N,) in m/s (NaN when unknown) and the unit
        direction in the image (N, 2), from the displacement over ``window_s``."""
        world_d, img_d, dt, valid = self.motion(slots, t, window_s)
        safe_dt = np.where(valid & (dt > 0), dt, 1.0)
        vel = np.where(valid[:, None], world_d / safe_dt[:, None], 0.0)
        speed = np.where(valid, np.hypot(vel[:, 0], vel[:, 1]), np.nan)
        norm = np.hypot(img_d[:, 0], img_d[:, 1])
        direction = np.where(norm[:, None] > 1e-6, img_d / np.maximum(norm, 1e-6)[:, None], 0.0)
        return vel, speed, direction

    def trails(self, slots: np.ndarray, k: int) -> list[np.ndarray]:
        """Last ``k`` image positions per track, oldest first."""
        if len(slots) == 0 or k <= 0:
            return []
        k = min(k, self.length)
        counts = np.minimum(self.n[slots], k)
        offsets = np.arange(k - 1, -1, -1)  # oldest first
        idx = (self.n[slots][:, None] - 1 - offsets[None, :]) % self.length
        pts = self.img[slots[:, None], idx]  # (N, k, 2)
        return [pts[i, k - c :] for i, c in enumerate(counts.tolist())]
