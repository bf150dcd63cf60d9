"""Risk stage: the view's risk score (0..1), its level and its components."""

from __future__ import annotations

from dataclasses import dataclass

from ..risk import RiskInputs, RiskThresholds, risk_level, risk_score
from .base import Setup
from .crowd import CrowdMeasures
from .kinematics import Motion
from .surge import Surge


@dataclass(frozen=True, slots=True)
class Risk:
    score: float  # 0..1
    level: str  # SAFE..CRITICAL
    components: dict[str, float]


class RiskStage:
    """Scores the whole view against the camera's density thresholds (zones score themselves
    against their own, in the zones stage, with the same ``risk_score``)."""

    def __init__(self, setup: Setup) -> None:
        self.reconfigure(setup)

    def reconfigure(self, setup: Setup) -> None:
        self._config = c = setup.config
        self._thresholds = RiskThresholds(
            c.density_caution_pm2, c.density_warning_pm2, c.density_critical_pm2
        )

    def reset(self) -> None:
        """Nothing to forget: the score is of the current frame."""

    def update(self, crowd: CrowdMeasures, surge: Surge, m: Motion) -> Risk:
        inputs = RiskInputs(
            crowd.density, surge.surge, m.speed_for_risk, crowd.pressure_term, m.coherence
        )
        score, components = risk_score(inputs, self._config, self._thresholds)
        return Risk(score, risk_level(score, self._config), components)
