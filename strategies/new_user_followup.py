"""``new_user_followup``: welcome on the join day, a human 1v1 within 48 h of the first payment.

Mechanism: on the day a user arrives they get an automatic welcome — one piece of personalised
content of ``welcome_tier`` (greeting + study guide) and an invitation to a chat group (the group
link). When a user makes their first-ever payment, the strategy schedules (``ops.after``) a 1v1
conversation about learning goals ``followup_delay_days`` after it sees the payment (it sees a
purchase the next morning, so 0 → ~24 h, 1 → ~48 h) and sends a personalised piece of the
``camp`` tier (the custom study path) with it.

Parameters: ``welcome_tier`` ("free"), ``invite`` (True), ``followup_delay_days`` (0; ≤ 1 keeps
the [000] 48-hour promise), ``followup_minutes`` (None = the world's ``contact_minutes``).
Cost: ``costs.message`` per push, operator time per 1v1. Source: DOMAIN.md §5 "New-user
follow-up" [000].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.params import CONTENT_TIERS
from strategies.base import Strategy
from strategies.params import param


class NewUserFollowup(Strategy):
    """Welcome content + group link on arrival; 1v1 on learning goals after the first payment."""

    name = "new_user_followup"
    summary = "welcome content + group link on join; 1v1 within 48 h of the first payment"
    source = "[000] new-user follow-up: welcome, 1:1 on goals within 48 h, custom study path"
    cost_model = "costs.message ¥ per push; operator minutes × hourly rate per 1v1"

    welcome_tier: str = param("free", "content tier of the welcome", choices=CONTENT_TIERS)
    invite: bool = param(True, "send a group invitation with the welcome")
    followup_delay_days: int = param(
        0, "days after a first payment is seen to the 1v1", low=0, high=30
    )
    followup_minutes: float | None = param(
        None, "minutes per 1v1 (None = world's default)", low=0.1, high=600
    )

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        arrived = users[ops.field("join_day")[users] == ops.day]
        if arrived.size:
            ops.push_content(arrived, self.welcome_tier)
            if self.invite:
                ops.invite_to_group(arrived)
        first = ops.field("first_purchase")[users] == ops.day - 1
        first &= ops.field("prior_purchases")[users] == 0
        payers = users[first]
        if payers.size:
            ops.after(self.followup_delay_days, lambda o, who=payers: self._follow_up(o, who))

    def _follow_up(self, ops: Operations, payers: np.ndarray) -> None:
        ops.contact_1v1(payers, self.followup_minutes)
        ops.push_content(payers, "camp")
