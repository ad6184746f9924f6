"""``referral_rewards``: 老带新 — a gift for 3 referred friends, VIP status for 5.

Mechanism: the engine counts each user's referred friends. When a user's count first reaches
``gift_at`` they get a gift of ``gift`` ¥; when it first reaches ``vip_at`` they get
``vip_points`` points, a seat in a chat group and one personalised piece of ``member``-tier
content (the VIP group). Each level is rewarded once per user.

Important: the engine's referral rate per share is a fixed world parameter
(``referrals_per_share``), so rewards cannot raise it directly. This strategy's effect runs
through trust (rewards raise trust, trust raises the chance to share and to be active); a
referral-boost action in the engine would be needed to model the incentive itself.

Parameters: ``gift_at`` (3), ``gift`` (20 ¥), ``vip_at`` (5), ``vip_points`` (500) — [001][003].
Cost: gift ¥ and points × ``costs.point_value`` per reward; ``costs.message`` per push.
Source: DOMAIN.md §5 "Referral / fission" [001][003].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.params import param


class ReferralRewards(Strategy):
    """Reward inviters once at ``gift_at`` referrals (gift) and at ``vip_at`` (VIP perks)."""

    name = "referral_rewards"
    summary = "reward inviters: gift at 3 referred friends, VIP perks at 5"
    source = "[001][003] referral / fission 老带新: invite 3 -> gift, 5 -> VIP group"
    cost_model = "gift ¥ + points × costs.point_value per reward; costs.message per push"

    gift_at: int = param(3, "referred friends that earn the gift", low=1, high=1000)
    gift: float = param(20.0, "¥ gift at gift_at friends", low=0.01, high=10_000)
    vip_at: int = param(5, "referred friends that earn VIP (≥ gift_at)", low=1, high=1000)
    vip_points: float = param(500.0, "points at vip_at friends", low=0.01, high=1e7)

    def check_params(self) -> None:
        if self.vip_at < self.gift_at:
            raise self.param_error(
                "vip_at", f"must be ≥ gift_at ({self.gift_at}), got {self.vip_at}"
            )

    def start(self, ops: Operations) -> None:
        self.level_ = np.zeros(ops.n_users, np.int8)

    def on_day(self, ops: Operations) -> None:
        self.level_ = grow_array(self.level_, ops.n_users, 0)
        users = ops.reachable()
        referrals = ops.field("referrals")[users]
        level = self.level_[users]
        gifted = users[(referrals >= self.gift_at) & (level < 1)]
        vips = users[(referrals >= self.vip_at) & (level < 2)]
        if gifted.size:
            ops.reward(gifted, gift=self.gift)
            self.level_[gifted] = 1
        if vips.size:
            ops.reward(vips, points=self.vip_points)
            ops.invite_to_group(vips)
            ops.push_content(vips, "member")
            self.level_[vips] = 2
