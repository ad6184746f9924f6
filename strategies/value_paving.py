"""``value_paving``: for new arrivals, ``paving_days`` of relevant content before the first promo.

Mechanism: a user who arrives during the run gets one personalised piece of the content tier
that fits their stage every ``content_every_days`` days for their first ``paving_days`` days
(useful material first, learning the need). From day ``paving_days`` after arrival on, they get
``promo_count`` promotional messages every ``promo_every_days`` days (the pitch). The base users
present at day 0 are left alone. With ``paving_days=0`` the same strategy pitches from the
join day — the hard-sell comparison of [001].

An opened promo lifts the purchase odds by exp(w × trust), so the trust built by the paving
content is what makes the later pitch convert.

Parameters: ``paving_days`` (7), ``content_every_days`` (1), ``promo_every_days`` (7),
``promo_count`` (1). Cost: ``costs.message`` per push or promo.
Source: DOMAIN.md §1 and §7 "value paving before the pitch: ~3× conversion" [001].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.common import stage_tiers
from strategies.params import param


class ValuePaving(Strategy):
    """Relevant content for a newcomer's first days, promotions only afterwards."""

    name = "value_paving"
    summary = "new arrivals: N days of relevant content before the first promo"
    source = "[001] value paving 价值铺垫 before the pitch: ~3x conversion"
    cost_model = "costs.message ¥ per content push or promo message"

    paving_days: int = param(7, "days of content before the first promo", low=0, high=365)
    content_every_days: int = param(1, "days between two paving pushes", low=1, high=365)
    promo_every_days: int = param(7, "days between two promos after paving", low=1, high=365)
    promo_count: int = param(1, "promos per user each promo day", low=1, high=20)

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        join_day = ops.field("join_day")[users]
        age = ops.day - join_day.astype(np.int64)
        newcomers = join_day >= 0
        paving = newcomers & (age < self.paving_days) & (age % self.content_every_days == 0)
        for tier, group in stage_tiers(ops, users[paving]).items():
            if group.size:
                ops.push_content(group, tier)
        since_pitch = age - self.paving_days
        pitch = newcomers & (since_pitch >= 0) & (since_pitch % self.promo_every_days == 0)
        if pitch.any():
            self.pitch(ops, users[pitch])

    def pitch(self, ops: Operations, users: np.ndarray) -> None:
        """Send the promotion (a hook: tests and subclasses can observe the pitched users)."""
        ops.send_promo(users, count=self.promo_count)
