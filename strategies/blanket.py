"""``blanket``: the same pushes to everyone (一刀切), the usual baseline.

Every reachable user gets ``promos_per_day`` promotional messages and ``content_per_day`` pieces
of one fixed content tier and category, whatever their stage or preference. Fractional rates are
spread evenly over days (0.5 = every other day). DOMAIN.md §5 "Blanket operations"; the [003]
A/B test's group A received 8 promos a day.
"""

from __future__ import annotations

import math

from sim.world.actions import Operations
from sim.world.params import CONTENT_TIERS, PREFERENCES
from strategies.base import Strategy
from strategies.params import param


def messages_on_day(rate: float, day: int) -> int:
    """How many messages a rate per day sends on ``day`` (sums to rate × days over time)."""
    return math.floor((day + 1) * rate + 1e-9) - math.floor(day * rate + 1e-9)


class Blanket(Strategy):
    """Same promotional (and optionally content) pushes to every reachable user."""

    name = "blanket"
    summary = "the same promos/content to everyone at a fixed daily rate"
    source = "[000][003] blanket operations 一刀切; [003] group A: 8 promos a day"
    cost_model = "costs.message ¥ per message sent"

    promos_per_day: float = param(
        1.0, "promos per user per day (0.5 = every other day)", low=0, high=50
    )
    content_per_day: float = param(0.0, "content pushes per user per day", low=0, high=50)
    content_tier: str = param("course", "tier of the content pushed", choices=CONTENT_TIERS)
    content_category: str = param("career", "category of the content pushed", choices=PREFERENCES)

    def on_day(self, ops: Operations) -> None:
        everyone = ops.reachable()
        promos = messages_on_day(self.promos_per_day, ops.day)
        if promos:
            ops.send_promo(everyone, count=promos)
        for _ in range(messages_on_day(self.content_per_day, ops.day)):
            ops.push_content(everyone, self.content_tier, self.content_category)
