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
from strategies.common import check_range


class ReferralRewards(Strategy):
    """Reward inviters once at ``gift_at`` referrals (gift) and at ``vip_at`` (VIP perks)."""

    name = "referral_rewards"
    summary = "reward inviters: gift at 3 referred friends, VIP perks at 5"
    source = "[001][003] referral / fission 老带新: invite 3 -> gift, 5 -> VIP group"
    cost_model = "gift ¥ + points × costs.point_value per reward; costs.message per push"

    def __init__(
        self, gift_at: int = 3, gift: float = 20.0, vip_at: int = 5, vip_points: float = 500.0
    ) -> None:
        self.gift_at = gift_at
        self.gift = gift
        self.vip_at = vip_at
        self.vip_points = vip_points

    def validate_params(self) -> None:
        check_range("gift_at", self.gift_at, 1, 1000)
        check_range("vip_at", self.vip_at, self.gift_at, 1000)
        check_range("gift", self.gift, 0.01, 10_000)
        check_range("vip_points", self.vip_points, 0.01, 1e7)

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
