"""The weighted risk score (0..1) and its level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import EngineConfig
from .results import RISK_LEVELS


@dataclass
class RiskInputs:
    density: float  # people per m²
    surge: float  # 0..1
    avg_speed: float | None  # m/s; None when no speed is known yet
    pressure: float  # 0..1: crowd pressure / the turbulence onset (0.02 s⁻²), capped at 1
    coherence: float  # 0..1


@dataclass
class RiskThresholds:
    caution: float
    warning: float
    critical: float


def density_norm(density: float, th: RiskThresholds) -> float:
    """Density mapped to 0..1 so the density thresholds land on the risk cut-offs.

    0 → 0, caution → 0.25, warning → 0.5, critical → 0.75, 1.5 × critical → 1 (piecewise
    linear). The original divided by a fixed 10 p/m², so even 6 p/m² alone stayed SAFE.
    """
    xs = [0.0, th.caution, th.warning, th.critical, th.critical * 1.5]
    return float(np.interp(density, xs, [0.0, 0.25, 0.5, 0.75, 1.0]))


def velocity_term(avg_speed: float | None, density: float, config: EngineConfig) -> float:
    """Danger of a dense, slow crowd, 0..1.

    Slowness is 1 at or below the stagnant speed and 0 at the moving speed (the original's
    inverse velocity), multiplied by crowding (density / stagnation density, capped at 1): a
    still but empty or sparse scene is not dangerous (the original scored it CAUTION).
    """
    if avg_speed is None or not np.isfinite(avg_speed):
        return 0.0
    lo, hi = config.stagnant_speed_mps, config.moving_speed_mps
    slowness = (
        1.0 if avg_speed <= lo else 0.0 if avg_speed >= hi else 1 - (avg_speed - lo) / (hi - lo)
    )
    crowding = (
        min(1.0, density / config.stagnation_density_pm2)
        if config.stagnation_density_pm2 > 0
        else 0.0
    )
    return slowness * crowding


def risk_level(score: float, config: EngineConfig) -> str:
    """SAFE < caution ≤ CAUTION < warning ≤ WARNING < critical ≤ CRITICAL."""
    if score >= config.risk_critical:
        return RISK_LEVELS[3]
    if score >= config.risk_warning:
        return RISK_LEVELS[2]
    if score >= config.risk_caution:
        return RISK_LEVELS[1]
    return RISK_LEVELS[0]


def risk_score(
    inputs: RiskInputs, config: EngineConfig, thresholds: RiskThresholds | None = None
) -> tuple[float, dict[str, float]]:
    """Risk 0..1 and its components.

    crowding = density / caution density (capped at 1);
    base = w_density·density_norm + w_surge·surge·crowding + w_velocity·velocity_term
    (0.4/0.3/0.3); boost = boost_scale · (0.6·pressure + 0.4·coherence) · crowding, so a sparse
    crowd arriving or walking the same way is not scored up; score = min(1, base + boost), and
    with ``density_floor`` at least density_norm, so the density thresholds alone reach their
    levels.
    """
    th = thresholds or RiskThresholds(
        config.density_caution_pm2, config.density_warning_pm2, config.density_critical_pm2
    )
    d_norm = density_norm(inputs.density, th)
    v_term = velocity_term(inputs.avg_speed, inputs.density, config)
    # Surge and boosts weigh in as the crowd approaches the caution density: three people
    # walking into an empty hall is a 60 % count increase but no danger.
    crowding = min(1.0, inputs.density / th.caution) if th.caution > 0 else 0.0
    s_term = min(1.0, max(0.0, inputs.surge)) * crowding
    base = (
        config.weight_density * d_norm
        + config.weight_surge * s_term
        + config.weight_velocity * v_term
    )
    boost = (
        config.boost_scale
        * (config.boost_pressure * inputs.pressure + config.boost_coherence * inputs.coherence)
        * crowding
    )
    score = base + boost
    if config.density_floor:
        score = max(score, d_norm)
    score = float(min(1.0, max(0.0, score)))
    components = {
        "density": d_norm,
        "surge": s_term,
        "velocity": v_term,
        "pressure": inputs.pressure,
        "boost": boost,
        "base": base,
    }
    return score, components
