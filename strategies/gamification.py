"""``gamification``: points for active days, a perk for a 7-day streak, member levels.

Mechanism: every day, users who were active yesterday earn ``points_per_active_day`` points; a
user active on each of the last ``streak_days`` days gets a ``streak_gift`` perk (at most once per
streak window); when a user's points first pass a level threshold (``levels``: silver, gold,
diamond) they get the level's badge gift ``level_gift`` × level number. Every reward raises
trust a little (the engine's ``trust_gain_reward``).

Parameters: ``points_per_active_day`` (10), ``streak_days`` (7, [003]), ``streak_gift`` (3 ¥),
``levels`` ((300, 1000, 3000) points), ``level_gift`` (5 ¥). Cost: points ×
``costs.point_value`` and gifts. Source: DOMAIN.md §5 "Gamification" [003][004].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.lifecycle import bit_window
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.common import NEVER
from strategies.params import param


class Gamification(Strategy):
    """Daily points for activity, streak perks and level-up badges."""

    name = "gamification"
    summary = "points for active days, 7-day check-in streak perk, silver/gold/diamond levels"
    source = "[003][004] gamification: points, check-in streaks (7 days -> perk), levels"
    cost_model = "points × costs.point_value + streak and level gifts ¥"

    points_per_active_day: float = param(10.0, "points per active day", low=0.01, high=1e5)
    streak_days: int = param(7, "active days in a row that earn the streak perk", low=2, high=32)
    streak_gift: float = param(3.0, "¥ value of the streak perk", low=0, high=10_000)
    levels: tuple[float, ...] = param(
        (300.0, 1000.0, 3000.0),
        "points thresholds of the levels, increasing",
        low=0,
        closed="neither",
    )
    level_gift: float = param(5.0, "¥ badge gift × level number", low=0, high=10_000)

    def check_params(self) -> None:
        if list(self.levels) != sorted(self.levels):
            raise self.param_error("levels", f"must be increasing, got {self.levels!r}")

    def start(self, ops: Operations) -> None:
        self.level_ = np.zeros(ops.n_users, np.int8)
        self.streak_paid_ = np.full(ops.n_users, NEVER, np.int64)

    def on_day(self, ops: Operations) -> None:
        self.level_ = grow_array(self.level_, ops.n_users, 0)
        self.streak_paid_ = grow_array(self.streak_paid_, ops.n_users, NEVER)
        users = ops.reachable()
        active = users[ops.field("last_active")[users] == ops.day - 1]
        if not active.size:
            return
        ops.reward(active, points=self.points_per_active_day)
        if self.streak_gift > 0:
            streak = bit_window(ops.field("active_bits")[active], self.streak_days)
            fresh = ops.day - self.streak_paid_[active] >= self.streak_days
            perk = active[(streak >= self.streak_days) & fresh]
            if perk.size:
                ops.reward(perk, gift=self.streak_gift)
                self.streak_paid_[perk] = ops.day
        level = np.searchsorted(np.asarray(self.levels), ops.field("points")[active], "right")
        up = level > self.level_[active]
        for new_level in np.unique(level[up]):
            who = active[up & (level == new_level)]
            if self.level_gift > 0:
                ops.reward(who, gift=self.level_gift * int(new_level))
        self.level_[active[up]] = level[up]
