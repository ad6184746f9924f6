"""``tiered_content``: stage-matched, preference-personalised content at a weekly cadence.

Mechanism: every ``every_days`` days (from ``offset_days``) each reachable user gets one piece of
the content tier that fits their lifecycle stage — free content for potential users, the ¥9.9
camp for new, member courses for core, comeback offers for dormant — in the category they prefer
(``personalised=True``) or in one fixed ``category``. Relevant content is opened more, builds
trust and is felt less as load than the same number of generic pushes.

Parameters: ``every_days`` (7, a weekly cadence [001]), ``offset_days`` (0), ``personalised``
(True), ``category`` (used only when not personalised). Cost: ``costs.message`` per push.
Source: DOMAIN.md §5 "Tiered content" [000][003]; [003] group B (tiered, targeted content).
"""

from __future__ import annotations

from sim.world.actions import Operations
from sim.world.params import PREFERENCES
from strategies.base import Strategy
from strategies.common import is_due, stage_tiers
from strategies.params import param


class TieredContent(Strategy):
    """Each stage its tier, each user their category, once every ``every_days`` days."""

    name = "tiered_content"
    summary = "stage-matched, preference-personalised content at a weekly cadence"
    source = "[000][003] tiered content 分层内容; [003] group B tiered by stage"
    cost_model = "costs.message ¥ per content push"

    every_days: int = param(7, "days between two pushes to a user", low=1, high=365)
    offset_days: int = param(0, "day of the first push (run day number)", low=0, high=365)
    personalised: bool = param(True, "each user's preferred category (else `category`)")
    category: str = param("career", "category pushed when not personalised", choices=PREFERENCES)

    def on_day(self, ops: Operations) -> None:
        if not is_due(ops.day, self.every_days, self.offset_days):
            return
        category = None if self.personalised else self.category
        for tier, users in stage_tiers(ops, ops.reachable()).items():
            if users.size:
                ops.push_content(users, tier, category)
