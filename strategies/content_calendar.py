"""``content_calendar``: a weekly rhythm — Mon knowledge, Wed interaction, Fri promotion,
weekend seeding.

Mechanism (day 0 is taken as a Monday):

* Monday — knowledge: one personalised piece of the content tier that fits each user's stage;
* Wednesday — interaction: one personalised ``free`` piece (a discussion prompt) to group
  members, and a group invitation to users in no group (``invite``);
* Friday — promotion: ``promo_count`` promotional messages to everyone;
* Saturday — seeding: one personalised ``free`` piece (a case story) to everyone.

About one message a day at most, inside the [001] comfort zone, with a touch every week so users
do not forget the brand (two weeks of silence [001]).

Parameters: ``knowledge_day`` (0), ``interaction_day`` (2), ``promotion_day`` (4),
``seeding_day`` (5) — weekdays, 0 = Monday; ``promo_count`` (1); ``invite`` (True).
Cost: ``costs.message`` per push or promo. Source: DOMAIN.md §5 "Content calendar" [001].
"""

from __future__ import annotations

from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.common import check_range, stage_tiers, weekday


class ContentCalendar(Strategy):
    """Knowledge, interaction, promotion and seeding on fixed weekdays."""

    name = "content_calendar"
    summary = "weekly cadence: Mon knowledge, Wed interaction, Fri promotion, weekend seeding"
    source = "[001] content calendar: Mon knowledge, Wed interaction, Fri promo, weekend seeding"
    cost_model = "costs.message ¥ per push or promo message"

    def __init__(
        self,
        knowledge_day: int = 0,
        interaction_day: int = 2,
        promotion_day: int = 4,
        seeding_day: int = 5,
        promo_count: int = 1,
        invite: bool = True,
    ) -> None:
        self.knowledge_day = knowledge_day
        self.interaction_day = interaction_day
        self.promotion_day = promotion_day
        self.seeding_day = seeding_day
        self.promo_count = promo_count
        self.invite = invite

    def validate_params(self) -> None:
        for name in ("knowledge_day", "interaction_day", "promotion_day", "seeding_day"):
            check_range(name, getattr(self, name), 0, 6)
        check_range("promo_count", self.promo_count, 1, 20)

    def on_day(self, ops: Operations) -> None:
        today = weekday(ops.day)
        users = ops.reachable()
        if today == self.knowledge_day:
            for tier, group in stage_tiers(ops, users).items():
                if group.size:
                    ops.push_content(group, tier)
        if today == self.interaction_day:
            in_group = ops.field("group")[users] >= 0
            ops.push_content(users[in_group], "free")
            if self.invite:
                ops.invite_to_group(users[~in_group])
        if today == self.promotion_day:
            ops.send_promo(users, count=self.promo_count)
        if today == self.seeding_day:
            ops.push_content(users, "free")
