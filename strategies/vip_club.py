"""``vip_club``: core users (paid ≥ 3 times) get member content, periodic 1v1 care and gifts.

Mechanism: a reachable user with at least ``min_purchases`` purchases (history included) is a
club member. Members get one personalised piece of ``member``-tier content every
``content_every_days`` days (exclusive live sessions, salons), a 1v1 care call every
``care_every_days`` days (spread evenly: each member on their own day of the cycle), and a
holiday gift of ``gift`` ¥ every ``gift_every_days`` days.

Parameters: ``min_purchases`` (3, [000] core = paid ≥ 3 times), ``content_every_days`` (7),
``care_every_days`` (30), ``care_minutes`` (None = the world's ``contact_minutes``), ``gift``
(50 ¥), ``gift_every_days`` (90, about one holiday a quarter; day numbers, not dates).
Cost: ``costs.message`` per push, operator time per call, the gift value.
Source: DOMAIN.md §5 "Core-user VIP club" [000].
"""

from __future__ import annotations

from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.common import is_due
from strategies.params import param


class VipClub(Strategy):
    """Member content weekly, 1v1 care monthly and holiday gifts for users paid ≥ 3 times."""

    name = "vip_club"
    summary = "users with >= 3 purchases: member content, periodic 1v1 care, holiday gifts"
    source = "[000] core-user VIP club (paid >= 3 times): exclusive sessions, care, gifts"
    cost_model = "costs.message per push; operator minutes × hourly rate per call; gift ¥"

    min_purchases: int = param(3, "purchases (history included) to be a member", low=1, high=1000)
    content_every_days: int = param(7, "days between two member pushes", low=1, high=365)
    care_every_days: int = param(30, "days between two care calls to a member", low=1, high=365)
    care_minutes: float | None = param(
        None, "minutes per call (None = world's default)", low=0.1, high=600
    )
    gift: float = param(50.0, "¥ holiday gift", low=0, high=100_000)
    gift_every_days: int = param(90, "days between two holiday gifts", low=1, high=3650)

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        members = users[ops.field("purchases")[users] >= self.min_purchases]
        if not members.size:
            return
        if is_due(ops.day, self.content_every_days):
            ops.push_content(members, "member")
        uid = ops.field("uid")[members]
        cared = members[(uid % self.care_every_days) == ops.day % self.care_every_days]
        if cared.size:
            ops.contact_1v1(cared, self.care_minutes)
        if self.gift > 0 and is_due(ops.day, self.gift_every_days, self.gift_every_days - 1):
            ops.reward(members, gift=self.gift)
