"""Crowd analytics on ground positions (metres) and speeds (m/s).

All functions are vectorised (numpy, scipy's cKDTree); none loops over pairs of people in
Python. The pair-based measures (clusters, proximity, pressure) can share one list
of neighbour pairs (``neighbour_pairs``), found with one k-d tree per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.spatial import cKDTree

from .geometry import polygon_area


@dataclass
class Pairs:
    """Pairs of people within some radius of each other, each pair once (i < j)."""

    i: np.ndarray  # (K,) int64
    j: np.ndarray  # (K,) int64
    d2: np.ndarray  # (K,) squared distances, m²
    radius_m: float = np.inf  # every pair this close is in

    def within(self, radius_m: float) -> Pairs:
        if radius_m >= self.radius_m:
            return self
        keep = self.d2 <= radius_m * radius_m
        return Pairs(self.i[keep], self.j[keep], self.d2[keep], radius_m)


BRUTE_FORCE_MAX = 120  # up to this many people every pair is checked: cheaper than a tree


def neighbour_pairs(positions_m: np.ndarray, radius_m: float) -> Pairs:
    """Every pair of people at most ``radius_m`` metres apart (k-d tree; for a few people,
    all pairs at once)."""
    pos = np.asarray(positions_m, dtype=np.float64).reshape(-1, 2)
    n = len(pos)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros(0), radius_m)
    if n <= BRUTE_FORCE_MAX:
        i, j = _upper_pairs(n)
    else:
        ij = cKDTree(pos).query_pairs(radius_m, output_type="ndarray")
        i, j = np.ascontiguousarray(ij[:, 0], np.int64), np.ascontiguousarray(ij[:, 1], np.int64)
    # Per coordinate on contiguous columns: 4x faster than gathering (K, 2) rows.
    x, y = np.ascontiguousarray(pos[:, 0]), np.ascontiguousarray(pos[:, 1])
    dx, dy = x[i] - x[j], y[i] - y[j]
    d2 = dx * dx + dy * dy
    if n <= BRUTE_FORCE_MAX:
        keep = d2 <= radius_m * radius_m
        return Pairs(i[keep], j[keep], d2[keep], radius_m)
    return Pairs(i, j, d2, radius_m)


@lru_cache(maxsize=32)
def _upper_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with i < j < n, kept for the last few n (crowd sizes repeat frame after
    frame); read-only, as they are shared."""
    i, j = np.triu_indices(n, 1)
    i, j = i.astype(np.int64), j.astype(np.int64)
    i.flags.writeable = j.flags.writeable = False
    return i, j


@dataclass
class Clusters:
    labels: np.ndarray  # (N,) cluster label per person, -1 = not in a cluster
    n_clusters: int


def congestion_clusters(positions_m: np.ndarray, eps_m: float, min_samples: int = 2) -> Clusters:
    """DBSCAN congestion clusters: groups of people within ``eps_m`` metres of each other.

    Measures where people bunch up. Input: ground positions in metres. Output: a label per
    person (-1 for people standing apart) and the number of clusters.
    """
    n = len(positions_m)
    if n < max(2, min_samples):
        return Clusters(np.full(n, -1, dtype=np.int64), 0)
    return dbscan(n, neighbour_pairs(positions_m, eps_m), min_samples)


def clusters_from_pairs(n: int, pairs: Pairs, eps_m: float, min_samples: int = 2) -> Clusters:
    """``congestion_clusters`` of ``n`` people from neighbour pairs found beforehand (at least
    those within ``eps_m``)."""
    if n < max(2, min_samples):
        return Clusters(np.full(n, -1, dtype=np.int64), 0)
    return dbscan(n, pairs.within(eps_m), min_samples)


def dbscan(n: int, pairs: Pairs, min_samples: int) -> Clusters:
    """DBSCAN over ``n`` points from their neighbour pairs (those within eps), labelled exactly
    as scikit-learn's ``DBSCAN`` labels them.

    A point with at least ``min_samples`` points within eps (itself included) is a core point;
    clusters are the connected groups of core points, numbered in the order of their
    lowest-numbered core point; a non-core point next to core points joins the lowest-numbered
    of their clusters (scikit-learn expands clusters in that order and a border point keeps the
    first label it gets). scikit-learn's own call costs ~4 ms per frame in input checks alone.
    """
    labels = np.full(n, -1, dtype=np.int64)
    i, j = pairs.i, pairs.j
    core = (1 + np.bincount(i, minlength=n) + np.bincount(j, minlength=n)) >= min_samples
    if not core.any():
        return Clusters(labels, 0)
    both = core[i] & core[j]
    root = connected_roots(n, i[both], j[both])
    core_idx = np.flatnonzero(core)
    roots = np.unique(root[core_idx])  # each cluster's lowest core point, ascending
    labels[core_idx] = np.searchsorted(roots, root[core_idx])
    # Border points: the lowest label among the clusters of their core neighbours.
    one = core[i] != core[j]
    if one.any():
        i_core = core[i[one]]
        border = np.where(i_core, j[one], i[one])
        via = labels[np.where(i_core, i[one], j[one])]
        best = np.full(n, len(roots), dtype=np.int64)
        np.minimum.at(best, border, via)
        hit = best < len(roots)
        labels[hit] = best[hit]
    return Clusters(labels, len(roots))


def connected_roots(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """For each of ``n`` nodes, the lowest node of its connected component under the edges
    ``(u, v)``: min-label hooking with full path compression, a few array passes (no sparse
    graph objects, whose checks cost more than the search at crowd sizes)."""
    parent = np.arange(n)
    while True:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            return parent
        lo, hi = np.minimum(pu[apart], pv[apart]), np.maximum(pu[apart], pv[apart])
        np.minimum.at(parent, hi, lo)  # hook each root under the lowest root it touches
        while True:  # compress: everyone points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def cluster_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (K, 2) of some points (K ≤ N), counter-clockwise; points as-is for N < 3."""
    if len(points) < 3:
        return np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return cv2.convexHull(np.asarray(points, dtype=np.float32)).reshape(-1, 2)


def hull_area_m2(points_m: np.ndarray) -> float:
    """Ground area in m² of the convex hull of positions in metres (0 for fewer than 3)."""
    if len(points_m) < 3:
        return 0.0
    return polygon_area(cluster_hull(points_m))


def proximity_pairs(
    positions_m: np.ndarray, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of people closer than ``max_distance_m`` metres (k-d tree, not O(n²) loops).

    Returns ``(pairs (K, 2) person indices with i < j, distances (K,) in metres)``.
    """
    return pair_array(neighbour_pairs(positions_m, max_distance_m))


def pair_array(pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """``(pairs (K, 2), distances (K,) in metres)`` as ``proximity_pairs`` returns them."""
    return np.stack([pairs.i, pairs.j], axis=1), np.sqrt(pairs.d2)


def speed_anomalies(
    speeds: np.ndarray, threshold: float = 2.0, min_people: int = 3, floor_mps: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """People whose speed is unusual for this crowd, by a robust z-score (unitless).

    z = (v - median) / max(1.4826·MAD, floor). The median/MAD version is used instead of the
    population mean/std because with the latter the largest possible |z| is sqrt(n-1), so no one
    could be flagged in a group of fewer than 6 (and one runner inflates the std he is judged
    by). The floor (m/s) stops tracking noise in a uniform crowd from flagging anyone.
    ``speeds`` may hold NaN for unknown speeds. Returns ``(z (N,), flagged mask (N,))``.
    """
    z = np.zeros(len(speeds))
    known = np.isfinite(speeds)
    if np.count_nonzero(known) < min_people:
        return z, np.zeros(len(speeds), dtype=bool)
    v = speeds[known]
    med = median(v)
    mad = median(np.abs(v - med))
    scale = max(1.4826 * mad, floor_mps)
    z[known] = (v - med) / scale
    return z, known & (np.abs(z) > threshold)


def median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array without NaN, to the last bit, at a tenth of its overhead."""
    s = np.sort(values)
    n = len(s)
    if n % 2:
        return float(s[n // 2])
    return float((s[n // 2 - 1] + s[n // 2]) / 2)


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (its default linear method, to the last bit) of a 1-D array
    without NaN, without its overhead."""
    s = np.sort(values).tolist()
    n = len(s)
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return float(s[-1])
    if virtual < 0:
        return float(s[0])
    prev = math.floor(virtual)
    gamma = virtual - prev
    a, b = s[prev], s[prev + 1]
    diff = b - a
    # numpy's lerp: from the nearer end, so the result stays within [a, b].
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def flow_coherence(directions: np.ndarray) -> float:
    """How aligned the movers are: 1 = everyone moves the same way, 0 = no common direction.

    Input: unit ground-direction vectors (M, 2) of people who moved over the coherence window.
    Uses the bias-corrected mean resultant length sqrt((|Σu|² - M) / (M(M-1))): the plain
    |mean u| of M random directions is about 1/sqrt(M), which would call a small chaotic group
    "coherent". Unitless 0..1; 0 when fewer than 2 people move.
    """
    m = len(directions)
    if m < 2:
        return 0.0
    s = directions.sum(axis=0)
    r2 = (float(s @ s) - m) / (m * (m - 1))
    return float(np.sqrt(min(1.0, max(0.0, r2))))


def local_density(positions_m: np.ndarray) -> np.ndarray:
    """Per-person local density in people per m² from the nearest-neighbour distance.

    Assumes hexagonal packing at that spacing: ρ = 2 / (√3 · d²), capped at 10 p/m².
    NaN for a person alone.
    """
    n = len(positions_m)
    if n < 2:
        return np.full(n, np.nan)
    d, _ = cKDTree(positions_m).query(positions_m, k=2)
    nn = np.maximum(d[:, 1], 0.3)  # bodies do not overlap; caps the density at ~12.8
    return np.minimum(2.0 / (np.sqrt(3.0) * nn * nn), 10.0)


@dataclass
class Pressure:
    """Crowd pressure after Helbing, Johansson & Al-Abideen (2007), per person and overall."""

    value: float  # s⁻²: the 90th percentile of the per-person pressures (0 with < 2 movers)
    per_person: np.ndarray  # (N,) s⁻², NaN where the person's velocity is unknown
    local_density: np.ndarray  # (N,) p/m², Gaussian-weighted


def helbing_pressure(
    positions_m: np.ndarray,
    velocities_mps: np.ndarray,
    radius_m: float = 1.0,
    min_neighbours: float = 1.5,
    min_density_pm2: float = 2.0,
) -> Pressure:
    """Local density × local velocity variance, in s⁻².

    With f(d) = exp(-d²/R²) / (πR²) (the paper's Gaussian, R = ``radius_m``):
    ρ(i) = Σ_j f(d_ij) (p/m², the person itself included), U(i) = Σ_j f·v_j / Σ_j f over
    neighbours with a known velocity, Var(i) = Σ_j f·|v_j − U(i)|² / Σ_j f ((m/s)²), and
    P(i) = ρ(i)·Var(i). Helbing et al. observed crowd turbulence above about 0.02 s⁻². People
    walking together share a velocity and give ~0 however close they are; a packed crowd
    pushed in different directions gives high values. ``velocities_mps`` rows with NaN are
    people with no speed yet: they count for density, not for variance.

    A variance needs a crowd: a person whose neighbours with a known velocity weigh less than
    ``min_neighbours`` (Σ_j≠i exp(-d²/R²); 1.5 ≈ others at 0.5 p/m² around them at R = 1 m)
    gets no pressure, so two pedestrians passing each other in an empty hall read 0, as a
    surge does in a sparse scene. Nor does a person whose local density is under
    ``min_density_pm2`` (2 p/m², where people start to lose the room to pass each other).
    Helbing et al. read the measure in a dense crowd; in a loose counterflow velocity
    differences are people going their own ways: on Debian's vtest.avi walkway (groups
    crossing, under 1 p/m² locally) the ungated formula reads up to 0.44 s⁻², 22× the
    turbulence onset, where nobody touches anyone.
    """
    pos = np.asarray(positions_m, dtype=np.float64).reshape(-1, 2)
    # Pairs within 3R (the Gaussian is < 1e-4 of its peak beyond), each pair once.
    pairs = neighbour_pairs(pos, 3.0 * radius_m)
    return pressure_from_pairs(pos, velocities_mps, pairs, radius_m, min_neighbours, min_density_pm2)


def pressure_from_pairs(
    positions_m: np.ndarray,
    velocities_mps: np.ndarray,
    pairs: Pairs,
    radius_m: float = 1.0,
    min_neighbours: float = 1.5,
    min_density_pm2: float = 2.0,
) -> Pressure:
    """``helbing_pressure`` from neighbour pairs found beforehand (at least those within 3R;
    pairs farther apart are left out)."""
    vel = np.asarray(velocities_mps, dtype=np.float64).reshape(-1, 2)
    n = len(positions_m)
    r2 = radius_m * radius_m
    norm = 1.0 / (np.pi * r2)
    if n == 0:
        return Pressure(0.0, np.zeros(0), np.zeros(0))
    known = np.isfinite(vel).all(axis=1)
    near = pairs.within(3.0 * radius_m)
    if not len(near.i) and min_neighbours > 0:  # nobody has a neighbour: no crowd, no variance
        return Pressure(0.0, np.full(n, np.nan), np.full(n, norm))
    i, j = near.i, near.j
    w = np.exp(-near.d2 / r2)
    around = np.bincount(i, w, n) + np.bincount(j, w, n)
    density = norm * (1.0 + around)
    # Velocity moments over neighbours with a known velocity (the person itself, weight 1).
    if known.all():  # the usual case: every weight counts (same sums, fewer passes)
        v, k = vel, np.ones(n)
        wi = wj = w
        wsum = 1.0 + around
    else:
        v = np.where(known[:, None], vel, 0.0)
        k = known.astype(np.float64)
        wi, wj = w * k[j], w * k[i]  # weight of j seen from i, and of i seen from j
        wsum = k + np.bincount(i, wi, n) + np.bincount(j, wj, n)
    vx, vy = np.ascontiguousarray(v[:, 0]), np.ascontiguousarray(v[:, 1])
    sq = vx * vx + vy * vy
    m1 = v * k[:, None]
    m2 = sq * k
    for axis, va in enumerate((vx, vy)):
        m1[:, axis] += np.bincount(i, wi * va[j], n) + np.bincount(j, wj * va[i], n)
    m2 = m2 + np.bincount(i, wi * sq[j], n) + np.bincount(j, wj * sq[i], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = m1 / wsum[:, None]
        var = np.maximum(m2 / wsum - np.sum(mean * mean, axis=1), 0.0)
    crowd = known & (wsum - k >= min_neighbours) & (density >= min_density_pm2)
    per_person = np.where(crowd, density * var, np.nan)
    finite = per_person[np.isfinite(per_person)]
    value = percentile(finite, 90) if len(finite) >= 2 else 0.0
    return Pressure(value, per_person, density)


def stagnation(
    density_pm2: float, avg_speed: float | None, density_threshold: float, stagnant_speed: float
) -> tuple[bool, float]:
    """Stagnation: a dense crowd that hardly moves (density in p/m², speed in m/s).

    Returns ``(flag, score 0..1)``; score = crowding × slowness, where crowding rises to 1 at
    ``density_threshold`` and slowness is 1 at or below ``stagnant_speed`` falling to 0 at
    three times it. The flag needs density ≥ threshold and speed < stagnant_speed.
    """
    if avg_speed is None or not np.isfinite(avg_speed) or density_threshold <= 0:
        return False, 0.0
    crowding = min(1.0, density_pm2 / density_threshold)
    slowness = float(np.clip((3 * stagnant_speed - avg_speed) / (2 * stagnant_speed), 0.0, 1.0))
    flag = density_pm2 >= density_threshold and avg_speed < stagnant_speed
    return flag, crowding * slowness
