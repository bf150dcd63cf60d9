"""Per-track position history and velocities, vectorised over all tracks of one camera.

Histories live in fixed-size numpy ring buffers (one row per track slot) so velocities,
directions and trails for hundreds of people are a few array operations per frame, not a
Python loop over people. Time is always the source timestamp passed in.
"""

from __future__ import annotations

import itertools

import numpy as np

# One number per tenure of a track in a slot, unique in the process (never reused, not even by
# a new store): whoever keeps per-track state by slot (the counting lines) tells by it that a
# slot now holds another track.
_SERIALS = itertools.count(1)


class TrackStore:
    """Ring-buffer history of the last ``length`` foot positions of every live track."""

    def __init__(self, length: int = 60, ttl_s: float = 3.0, capacity: int = 64) -> None:
        self.length = max(2, int(length))
        self.ttl_s = float(ttl_s)
        self.slot_of: dict[int, int] = {}
        self._free: list[int] = []
        self._fresh: tuple[float, int] = (np.nan, 0)  # (time, tracks) of the last update
        self._alloc(capacity)

    # -- storage ---------------------------------------------------------------------------
    def _alloc(self, capacity: int) -> None:
        L = self.length
        self.t = np.full((capacity, L), np.nan)
        self.img = np.zeros((capacity, L, 2))
        self.world = np.zeros((capacity, L, 2))
        self.n = np.zeros(capacity, dtype=np.int64)  # samples written (ring index = n % L)
        self.last_seen = np.full(capacity, -np.inf)
        self.track_id = np.full(capacity, -1, dtype=np.int64)
        self.serial = np.zeros(capacity, dtype=np.int64)  # 0 = free
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
        self.serial = np.concatenate([self.serial, np.zeros(old, dtype=np.int64)])
        self._free = list(range(new - 1, old - 1, -1)) + self._free

    def _clear_slots(self, s: np.ndarray | list[int]) -> None:
        self.t[s] = np.nan
        self.n[s] = 0
        self.last_seen[s] = -np.inf
        self.track_id[s] = -1
        self.serial[s] = 0

    def reset(self) -> None:
        self.slot_of.clear()
        self._fresh = (np.nan, 0)
        self._alloc(max(64, self.t.shape[0]))

    def __len__(self) -> int:
        return len(self.slot_of)

    # -- per frame -------------------------------------------------------------------------
    def update(
        self, track_ids: np.ndarray, t: float, feet_px: np.ndarray, world_m: np.ndarray
    ) -> np.ndarray:
        """Append this frame's positions; returns the slot index of each track."""
        ids = track_ids.tolist()
        found = [self.slot_of.get(tid, -1) for tid in ids]
        if -1 in found:
            for i, tid in enumerate(ids):
                if found[i] < 0:
                    found[i] = self._take_slot(tid)
        slots = np.array(found, dtype=np.int64)
        self._fresh = (t, len(set(found)))
        if len(slots):
            idx = self.n[slots] % self.length
            self.t[slots, idx] = t
            self.img[slots, idx] = feet_px
            self.world[slots, idx] = world_m
            self.n[slots] += 1
            self.last_seen[slots] = t
        return slots

    def _take_slot(self, tid: int) -> int:
        # A track id given twice in one frame gets one slot (as a dict lookup would).
        s = self.slot_of.get(tid)
        if s is not None:
            return s
        if not self._free:
            self._grow()
        s = self._free.pop()
        self._clear_slots([s])
        self.slot_of[tid] = s
        self.track_id[s] = tid
        self.serial[s] = next(_SERIALS)
        return s

    def prune(self, t: float) -> None:
        """Forget tracks not seen for ``ttl_s`` seconds of source time."""
        if self._fresh == (t, len(self.slot_of)):
            return  # every live track was seen just now
        stale = np.flatnonzero((self.last_seen < t - self.ttl_s) & (self.track_id >= 0))
        if not len(stale):
            return
        for tid in self.track_id[stale].tolist():
            del self.slot_of[tid]
        self._clear_slots(stale)
        self._free.extend(stale.tolist())

    def _reference_samples(
        self, slots: np.ndarray, t: float, windows_s: tuple[float, ...]
    ) -> np.ndarray:
        """(W, N): per window, ring index of the oldest sample within ``window_s`` before
        ``t`` (else the newest earlier one); -1 where a track has no earlier sample."""
        T = self.t[slots]  # (N, L)
        earlier = t - 1e-9 > T  # NaN (never written) compares False
        starts = t - np.asarray(windows_s) - 1e-9
        in_window = earlier & (starts[:, None, None] <= T)  # (W, N, L): all windows at once
        idx = np.argmin(np.where(in_window, T, np.inf), axis=2)
        w, lacking = np.nonzero(~in_window.any(axis=2))
        if len(w):  # no sample in the window: the newest earlier one, if any
            before = earlier[lacking]
            newest = np.argmax(np.where(before, T[lacking], -np.inf), axis=1)
            idx[w, lacking] = np.where(before.any(axis=1), newest, -1)
        return idx

    def _displacement(
        self, slots: np.ndarray, t: float, ref: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        valid = ref >= 0
        base = slots * self.length
        cur = base + (self.n[slots] - 1) % self.length  # flat (slot, ring) indices: one take
        refc = np.where(valid, base + ref, cur)
        dt = t - self.t.ravel().take(refc)
        world = self.world.reshape(-1, 2)
        img = self.img.reshape(-1, 2)
        world_d = world.take(cur, axis=0) - world.take(refc, axis=0)
        img_d = img.take(cur, axis=0) - img.take(refc, axis=0)
        dt = np.where(valid, dt, 0.0)
        return world_d, img_d, dt, valid

    def motion(
        self, slots: np.ndarray, t: float, window_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Displacement over about ``window_s`` seconds ending now.

        Returns ``(world_disp_m (N,2), image_disp_px (N,2), dt_s (N,), valid (N,))``.
        """
        return self.motions(slots, t, (window_s,))[0]

    def motions(
        self, slots: np.ndarray, t: float, windows_s: tuple[float, ...]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``motion`` for several windows at once (the history is scanned once)."""
        n, k = len(slots), len(windows_s)
        if n == 0:
            z = np.zeros((0, 2))
            return [(z, z, np.zeros(0), np.zeros(0, dtype=bool)) for _ in windows_s]
        refs = self._reference_samples(slots, t, windows_s)
        world_d, img_d, dt, valid = self._displacement(np.tile(slots, k), t, refs.ravel())
        return [
            (world_d[a : a + n], img_d[a : a + n], dt[a : a + n], valid[a : a + n])
            for a in range(0, n * k, n)
        ]

    def velocities(
        self, slots: np.ndarray, t: float, window_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground velocity (N, 2) in m/s, speed (N,) in m/s (NaN when unknown) and the unit
        direction in the image (N, 2), from the displacement over ``window_s``."""
        return velocities_from_motion(*self.motion(slots, t, window_s))

    def trails(self, slots: np.ndarray, k: int) -> list[np.ndarray]:
        """Last ``k`` image positions per track, oldest first."""
        if len(slots) == 0 or k <= 0:
            return []
        k = min(k, self.length)
        n = self.n[slots]
        counts = np.minimum(n, k)
        offsets = np.arange(k - 1, -1, -1)  # oldest first
        idx = (n[:, None] - 1 - offsets[None, :]) % self.length
        # One flat take, not a 2-D fancy index (half the time at 1,000 tracks).
        flat = (slots[:, None] * self.length + idx).ravel()
        pts = self.img.reshape(-1, 2).take(flat, axis=0).reshape(len(slots), k, 2)
        if counts.min() == k:
            return list(pts)
        starts = (k - counts).tolist()
        return [pts[i, s:] for i, s in enumerate(starts)]


def velocities_from_motion(
    world_d: np.ndarray, img_d: np.ndarray, dt: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground velocity (m/s), speed (m/s, NaN when unknown) and unit image direction from a
    displacement (``TrackStore.motion``)."""
    safe_dt = np.where(valid & (dt > 0), dt, 1.0)
    vel = np.where(valid[:, None], world_d / safe_dt[:, None], 0.0)
    speed = np.where(valid, np.hypot(vel[:, 0], vel[:, 1]), np.nan)
    norm = np.hypot(img_d[:, 0], img_d[:, 1])
    direction = np.where(norm[:, None] > 1e-6, img_d / np.maximum(norm, 1e-6)[:, None], 0.0)
    return vel, speed, direction
