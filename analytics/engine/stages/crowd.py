"""Crowd measures stage: density, clusters, proximity, speed anomalies, pressure, stagnation."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import crowd
from ..density import density_level, level_of_service
from ..results import AnomalyResult, ClusterResult
from .base import Setup
from .kinematics import Motion


@dataclass(frozen=True, slots=True)
class CrowdMeasures:
    """How crowded the whole view is and how its people stand and move relative to each other."""

    count: int
    density: float  # people per m² over the monitored area
    level_of_service: str  # Fruin A..F
    density_level: str  # SAFE..CRITICAL from the density thresholds alone
    capacity_utilization: float | None  # % of the camera's capacity
    clusters: list[ClusterResult]
    pairs: np.ndarray  # (K, 2) person indices of proximity pairs
    pair_distance_m: np.ndarray  # (K,)
    flagged: np.ndarray  # (N,) bool: speed anomaly
    anomalies: list[AnomalyResult]
    pressure: float  # s⁻², Helbing et al.
    pressure_term: float  # 0..1: pressure / the turbulence onset, capped
    stagnant: bool
    stagnation_score: float  # 0..1


class CrowdStage:
    """Measures of one frame; no state kept between frames."""

    def __init__(self, setup: Setup) -> None:
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        self._config = c = setup.config
        self._area_m2 = setup.geometry.area_m2
        self._capacity = setup.geometry.capacity
        # One neighbour search serves clusters, proximity and pressure (which looks to 3R).
        self._reach_m = max(c.cluster_eps_m, c.proximity_m, 3.0 * c.pressure_radius_m)

    def reset(self) -> None:
        """Nothing to forget: every measure is of the current frame."""

    def update(self, m: Motion) -> CrowdMeasures:
        c = self._config
        count = len(m.feet)
        dens = count / self._area_m2 if self._area_m2 > 0 else 0.0
        pairs = crowd.neighbour_pairs(m.world, self._reach_m)
        clusters = crowd.clusters_from_pairs(count, pairs, c.cluster_eps_m, c.cluster_min_samples)
        near, near_d = crowd.pair_array(pairs.within(c.proximity_m))
        z, flagged = crowd.speed_anomalies(
            m.speeds, c.anomaly_zscore, c.anomaly_min_people, c.anomaly_speed_floor_mps
        )
        pressure = crowd.pressure_from_pairs(
            m.world, m.velocities, pairs, c.pressure_radius_m, min_density_pm2=c.pressure_min_density_pm2
        ).value
        stagnant, stagnation_score = crowd.stagnation(
            dens, m.speed_for_risk, c.stagnation_density_pm2, c.stagnant_speed_mps
        )
        cap = self._capacity
        return CrowdMeasures(
            count=count,
            density=dens,
            level_of_service=level_of_service(dens, c.los_bounds_pm2),
            density_level=density_level(
                dens, c.density_caution_pm2, c.density_warning_pm2, c.density_critical_pm2
            ),
            capacity_utilization=(count / cap * 100.0) if cap else None,
            clusters=cluster_results(clusters, m),
            pairs=near,
            pair_distance_m=near_d,
            flagged=flagged,
            anomalies=anomaly_results(z, flagged, m),
            pressure=pressure,
            pressure_term=(
                min(1.0, pressure / c.pressure_onset_s2) if c.pressure_onset_s2 > 0 else 0.0
            ),
            stagnant=stagnant,
            stagnation_score=stagnation_score,
        )


def cluster_results(clusters: crowd.Clusters, m: Motion) -> list[ClusterResult]:
    """Each cluster's members (in index order), centroid and hull in px, hull area in m².

    Members are grouped with one sort, not one scan of everyone per cluster: a dense crowd
    of 1,000 has ~100 clusters, mostly pairs (no hull to compute).
    """
    k = clusters.n_clusters
    if not k:
        return []
    labels = clusters.labels
    order = np.argsort(labels, kind="stable")
    order = order[labels[order] >= 0]
    bounds = np.searchsorted(labels[order], np.arange(k + 1)).tolist()
    feet = m.feet[order]
    sizes = np.diff(bounds)
    centroids = (np.add.reduceat(feet, bounds[:-1], axis=0) / sizes[:, None]).tolist()
    feet32 = feet.astype(np.float32)
    world32 = m.world[order].astype(np.float32)
    ids = [i if i >= 0 else None for i in m.ids[order].tolist()]
    out = []
    for c in range(k):
        a, b = bounds[c], bounds[c + 1]
        if b - a < 3:
            hull, area = feet32[a:b], 0.0
        else:
            hull = cv2.convexHull(feet32[a:b]).reshape(-1, 2)
            area = cv2.contourArea(cv2.convexHull(world32[a:b]))
        out.append(
            ClusterResult(
                id=c,
                size=b - a,
                track_ids=ids[a:b],
                centroid=tuple(centroids[c]),  # type: ignore[arg-type]
                hull=list(map(tuple, np.rint(hull).astype(np.int64).tolist())),
                area_m2=area,
            )
        )
    return out


def anomaly_results(z: np.ndarray, flagged: np.ndarray, m: Motion) -> list[AnomalyResult]:
    idx = np.flatnonzero(flagged)
    if not len(idx):
        return []
    return [
        AnomalyResult(
            track_id=tid if tid >= 0 else None,
            speed=speed,
            zscore=zi,
            kind="fast" if zi > 0 else "slow",
        )
        for tid, speed, zi in zip(
            m.ids[idx].tolist(), m.speeds[idx].tolist(), z[idx].tolist(), strict=True
        )
    ]
