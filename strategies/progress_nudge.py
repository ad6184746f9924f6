"""``progress_nudge``: a completion gift at X% course progress and a weekly study report.

Mechanism: a user whose progress in their current product reaches ``threshold`` during the run
gets, once per product, a reward (``gift`` ¥ and ``points``) — "80% done, claim your completion
gift". Every
``report_every_days`` days each learner (bought something, course not finished) gets one
personalised piece of the content tier that fits their stage (the weekly study report). Rewards
raise trust, and trust raises activity, which is what moves progress.

Parameters: ``threshold`` (0.8, [000]), ``gift`` (5.0 ¥), ``points`` (50), ``report_every_days``
(7). Cost: gift + points × ``costs.point_value`` per reward; ``costs.message`` per report.
Source: DOMAIN.md §5 "Progress nudges" [000].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.common import is_due, stage_tiers
from strategies.params import param


class ProgressNudge(Strategy):
    """Reward at ``threshold`` progress (once per product); weekly study report content."""

    name = "progress_nudge"
    summary = "reward on reaching X% course progress; weekly study report content"
    source = "[000] progress nudges: '80% done - claim your gift'; weekly study report"
    cost_model = "gift ¥ + points × costs.point_value per reward; costs.message per report"

    threshold: float = param(0.8, "course progress share that earns the gift", low=0.01, high=1)
    gift: float = param(5.0, "¥ completion gift", low=0, high=10_000)
    points: float = param(50.0, "points with the completion gift", low=0, high=1e6)
    report_every_days: int = param(7, "days between two study reports", low=1, high=365)

    def check_params(self) -> None:
        if self.gift + self.points <= 0:
            raise self.param_error("gift", "or points must be positive, got 0 for both")

    def start(self, ops: Operations) -> None:
        # progress already past the threshold before the run is history, not a nudge
        past = ops.field("progress") >= self.threshold
        self.rewarded_level_ = np.where(past, ops.field("ladder"), 0).astype(np.int16)

    def on_day(self, ops: Operations) -> None:
        self.rewarded_level_ = grow_array(self.rewarded_level_, ops.n_users, 0)
        users = ops.reachable()
        ladder = ops.field("ladder")[users].astype(np.int16)
        progress = ops.field("progress")[users]
        reached = (ladder > 0) & (progress >= self.threshold)
        due = users[reached & (self.rewarded_level_[users] < ladder)]
        if due.size:
            ops.reward(due, points=self.points, gift=self.gift)
            self.rewarded_level_[due] = ops.field("ladder")[due]
        if is_due(ops.day, self.report_every_days):
            learners = users[(ladder > 0) & (progress < 1.0)]
            for tier, group in stage_tiers(ops, learners).items():
                if group.size:
                    ops.push_content(group, tier)
