"""Crowd analytics on ground positions (metres) and speeds (m/s).

All functions are vectorised (numpy, scipy's cKDTree, scikit-learn's DBSCAN); none loops over
pairs of people in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN

from .geometry import polygon_area


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
    # Neighbourhoods from a k-d tree, handed to DBSCAN as a sparse distance graph: sklearn's
    # own brute-force neighbour search starts OpenMP threads that fight the detector's thread
    # pool on a small CPU (30 ms instead of 1 ms per frame measured on 2 cores).
    tree = cKDTree(positions_m)
    graph = tree.sparse_distance_matrix(tree, eps_m, output_type="coo_matrix").tocsr()
    labels = DBSCAN(eps=eps_m, min_samples=min_samples, metric="precomputed").fit_predict(graph)
    return Clusters(labels.astype(np.int64), int(labels.max()) + 1 if labels.size else 0)


def cluster_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (K, 2) of some points (K ≤ N), counter-clockwise; points as-is for N < 3."""
    import cv2

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
    if len(positions_m) < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    tree = cKDTree(positions_m)
    pairs = tree.query_pairs(r=max_distance_m, output_type="ndarray").astype(np.int64)
    if len(pairs) == 0:
        return pairs.reshape(0, 2), np.zeros(0)
    d = np.linalg.norm(positions_m[pairs[:, 0]] - positions_m[pairs[:, 1]], axis=1)
    return pairs, d


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
    med = float(np.median(v))
    mad = float(np.median(np.abs(v - med)))
    scale = max(1.4826 * mad, floor_mps)
    z[known] = (v - med) / scale
    return z, known & (np.abs(z) > threshold)


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
    surge does in a sparse scene.
    """
    pos = np.asarray(positions_m, dtype=np.float64).reshape(-1, 2)
    vel = np.asarray(velocities_mps, dtype=np.float64).reshape(-1, 2)
    n = len(pos)
    r2 = radius_m * radius_m
    norm = 1.0 / (np.pi * r2)
    if n == 0:
        return Pressure(0.0, np.zeros(0), np.zeros(0))
    known = np.isfinite(vel).all(axis=1)
    # Pairs within 3R (the Gaussian is < 1e-4 of its peak beyond), each pair once.
    pairs = cKDTree(pos).query_pairs(3.0 * radius_m, output_type="ndarray")
    i, j = (pairs[:, 0], pairs[:, 1]) if len(pairs) else (np.zeros(0, int), np.zeros(0, int))
    d2 = np.sum((pos[i] - pos[j]) ** 2, axis=1)
    w = np.exp(-d2 / r2)
    density = norm * (1.0 + np.bincount(i, w, n) + np.bincount(j, w, n))
    # Velocity moments over neighbours with a known velocity (the person itself, weight 1).
    v = np.where(known[:, None], vel, 0.0)
    k = known.astype(np.float64)
    wi, wj = w * k[j], w * k[i]  # weight of j seen from i, and of i seen from j
    wsum = k + np.bincount(i, wi, n) + np.bincount(j, wj, n)
    sq = np.sum(v * v, axis=1)
    m1 = v * k[:, None]
    m2 = sq * k
    for axis in (0, 1):
        m1[:, axis] += np.bincount(i, wi * v[j, axis], n) + np.bincount(j, wj * v[i, axis], n)
    m2 = m2 + np.bincount(i, wi * sq[j], n) + np.bincount(j, wj * sq[i], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = m1 / wsum[:, None]
        var = np.maximum(m2 / wsum - np.sum(mean * mean, axis=1), 0.0)
    crowd = known & (wsum - k >= min_neighbours)
    per_person = np.where(crowd, density * var, np.nan)
    finite = per_person[np.isfinite(per_person)]
    value = float(np.percentile(finite, 90)) if len(finite) >= 2 else 0.0
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
