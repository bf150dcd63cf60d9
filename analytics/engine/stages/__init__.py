"""The per-frame analytics of one camera as small stages, run in this order by ``CrowdEngine``:

kinematics → crowd measures → surge → zones and lines → risk → trend.

Each stage owns its state and its output: ``update(...)`` takes the outputs of the stages
before it and returns its own (a small dataclass nobody else writes to); ``reconfigure(setup)``
takes a new ``Setup`` (config and ground plane) from the next frame on, keeping the history
that still applies; ``reset()`` forgets the history (a source that restarted or looped).
"""

from .base import Setup, Stage
from .crowd import CrowdMeasures, CrowdStage
from .kinematics import KinematicsStage, Motion
from .risk import Risk, RiskStage
from .surge import Surge, SurgeStage
from .trend import Trends, TrendStage
from .zones import Places, ZonesLinesStage

__all__ = [
    "CrowdMeasures",
    "CrowdStage",
    "KinematicsStage",
    "Motion",
    "Places",
    "Risk",
    "RiskStage",
    "Setup",
    "Stage",
    "Surge",
    "SurgeStage",
    "TrendStage",
    "Trends",
    "ZonesLinesStage",
]
