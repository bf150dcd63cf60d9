"""Scoring counts against hand-marked people (the dev set's head points).

A count alone can be right for the wrong reasons (three false boxes hide three missed
people). With one marked head per person, each counted box is matched to at most one head:
the heads matched are the people really found, the boxes left over are boxes on nobody
counted (false, or people the hand count leaves out, such as legs whose head is out of frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class HeadMatch:
    found: int  # marked heads matched to a box, one box each
    boxes_on_nobody: int  # boxes matched to no marked head


def match_heads(boxes: np.ndarray, heads: np.ndarray | list, slack: float = 4.0) -> HeadMatch:
    """Match boxes (x1, y1, x2, y2) to head points (x, y), one to one.

    A head may go to a box it lies in (within ``slack`` px); the assignment minimises the
    distance from each head to the top centre of its box, so overlapping boxes in an
    overhead view each get their own person, and a box around two people counts once.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    pts = np.asarray(heads, np.float64).reshape(-1, 2)
    if not len(boxes) or not len(pts):
        return HeadMatch(0, len(boxes))
    x, y = pts[:, 0:1], pts[:, 1:2]
    inside = (boxes[None, :, 0] - slack <= x) & (x <= boxes[None, :, 2] + slack)
    inside &= (boxes[None, :, 1] - slack <= y) & (y <= boxes[None, :, 3] + slack)
    top_x = (boxes[:, 0] + boxes[:, 2]) / 2
    top_y = boxes[:, 1] + 0.1 * (boxes[:, 3] - boxes[:, 1])
    cost = np.where(inside, np.hypot(x - top_x[None, :], y - top_y[None, :]), np.inf)
    finite = np.where(np.isfinite(cost), cost, 1e12)  # the solver needs a feasible matrix
    rows, cols = linear_sum_assignment(finite)
    found = int(np.isfinite(cost[rows, cols]).sum())
    return HeadMatch(found, len(boxes) - found)
