"""``koc_programme``: grow high-engagement, low-value users into KOCs with small rewards.

Mechanism: every ``every_days`` days, reachable users in the [002] low-value/high-engagement
quadrant — active on at least ``min_active_days_30`` of the last 30 days, with revenue to date
(history included) below ``max_value`` — get ``points`` and a small ``gift`` (the reviewer /
ambassador perk); in each chat group the ``kocs_per_group`` most active of them are recognised as
KOCs (``lead``); those in no chat group get an
invitation to one (to lead discussion). A recognised KOC speaks more for a few weeks after each
reward and fades without one (``world.social.koc_fade_days``); a group whose KOCs speak sees its
members speak and open more (MODEL.md "Group composition"). The engine's sharing chance rises
with trust, so the programme also acts on fission through trust.

Parameters: ``min_active_days_30`` (8) and ``max_value`` (500 ¥) — the defaults of the world's
quadrant thresholds; ``points`` (100), ``gift`` (2 ¥), ``every_days`` (7), ``invite`` (True),
``lead`` (True; False = rewards only, the matched comparison of the KOC law),
``kocs_per_group`` (2).
Cost: gift + points × ``costs.point_value`` per reward. Source: DOMAIN.md §4 quadrants [002],
§5 "KOC programme" [002][003].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.lifecycle import bit_window
from strategies.base import Strategy
from strategies.common import is_due
from strategies.params import param


class KocProgramme(Strategy):
    """Small weekly rewards (and a group seat) for low-value, high-engagement users."""

    name = "koc_programme"
    summary = "high-engagement low-value users get small rewards and points (KOC)"
    source = "[002] low-value/high-engagement quadrant -> KOC; [003] ambassadors"
    cost_model = "gift ¥ + points × costs.point_value per reward"

    min_active_days_30: int = param(8, "active days of the last 30 to qualify", low=1, high=30)
    max_value: float = param(
        500.0, "¥ revenue to date below which a user qualifies", low=0, high=1e9
    )
    points: float = param(100.0, "points per reward", low=0, high=1e6)
    gift: float = param(2.0, "¥ gift per reward", low=0, high=10_000)
    every_days: int = param(7, "days between two reward rounds", low=1, high=365)
    invite: bool = param(True, "invite qualifying users who are in no group")
    lead: bool = param(True, "recognise rewarded users as KOCs who lead their group's discussion")
    kocs_per_group: int = param(
        2, "rewarded members recognised as KOCs per group, most active first (users)",
        low=1, high=200,
    )  # fmt: skip

    def check_params(self) -> None:
        if self.points + self.gift <= 0:
            raise self.param_error("gift", "or points must be positive, got 0 for both")

    def on_day(self, ops: Operations) -> None:
        if not is_due(ops.day, self.every_days):
            return
        users = ops.reachable()
        engaged = bit_window(ops.field("active_bits")[users], 30) >= self.min_active_days_30
        value = ops.field("revenue")[users] + ops.field("prior_revenue")[users]
        kocs = users[engaged & (value < self.max_value)]
        if not kocs.size:
            return
        ops.reward(kocs, points=self.points, gift=self.gift)
        if self.lead:
            ops.recognise_koc(self._leaders(ops, kocs))
        if self.invite:
            ops.invite_to_group(kocs[ops.field("group")[kocs] < 0])

    def _leaders(self, ops: Operations, kocs: np.ndarray) -> np.ndarray:
        """The ``kocs_per_group`` most active (last 30 days) of ``kocs`` in each group."""
        kocs = kocs[ops.field("group")[kocs] >= 0]
        group = ops.field("group")[kocs]
        active_days = bit_window(ops.field("active_bits")[kocs], 30)
        order = np.lexsort((kocs, -active_days, group))
        sorted_group = group[order]
        rank = np.arange(order.size) - np.searchsorted(sorted_group, sorted_group, side="left")
        return np.sort(kocs[order][rank < self.kocs_per_group])
