"""``content_calendar``: a weekly rhythm — Mon knowledge, Wed interaction, Fri promotion,
weekend seeding.

Mechanism (weekdays are the run's real weekdays, from ``world.calendar.start_date``):

* Monday — knowledge: one personalised piece of the content tier that fits each user's stage;
* Wednesday — interaction: one personalised ``free`` piece (a discussion prompt) to group
  members, and a group invitation to users in no group (``invite``);
* Friday — promotion: ``promo_count`` promotional messages to everyone;
* Saturday — seeding: one personalised ``free`` piece (a case story) to everyone.

About one message a day at most, inside the [001] comfort zone, with a touch every week so users
do not forget the brand (two weeks of silence [001]).

Every message goes out at ``push_hour`` (20:00, the evening peak [001]; -1 = each user's
segment peak, -2 = its trough): the weekday's open and speaking logits and the hour's timing
fit make the choice of day and hour matter (docs/MODEL.md §5.9).

Parameters: ``knowledge_day`` (0), ``interaction_day`` (2), ``promotion_day`` (4),
``seeding_day`` (5) — weekdays, 0 = Monday; ``push_hour`` (20); ``promo_count`` (1);
``invite`` (True).
Cost: ``costs.message`` per push or promo. Source: DOMAIN.md §5 "Content calendar" [001].
"""

from __future__ import annotations

from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.common import stage_tiers
from strategies.params import param


class ContentCalendar(Strategy):
    """Knowledge, interaction, promotion and seeding on fixed weekdays."""

    name = "content_calendar"
    summary = "weekly cadence: Mon knowledge, Wed interaction, Fri promotion, weekend seeding"
    source = "[001] content calendar: Mon knowledge, Wed interaction, Fri promo, weekend seeding"
    cost_model = "costs.message ¥ per push or promo message"

    knowledge_day: int = param(0, "weekday of knowledge content (0 = Monday)", low=0, high=6)
    interaction_day: int = param(2, "weekday of group interaction (0 = Monday)", low=0, high=6)
    promotion_day: int = param(4, "weekday of the promotion (0 = Monday)", low=0, high=6)
    seeding_day: int = param(5, "weekday of seeding stories (0 = Monday)", low=0, high=6)
    promo_count: int = param(1, "promos per user on the promotion day", low=1, high=20)
    invite: bool = param(True, "invite users in no group on the interaction day")
    push_hour: int = param(
        20, "hour of the messages, 0-23 (-1 = segment peak, -2 = trough)", low=-2, high=23
    )

    def on_day(self, ops: Operations) -> None:
        today = ops.weekday
        hour = self.push_hour
        users = ops.reachable()
        if today == self.knowledge_day:
            for tier, group in stage_tiers(ops, users).items():
                if group.size:
                    ops.push_content(group, tier, hour=hour)
        if today == self.interaction_day:
            in_group = ops.field("group")[users] >= 0
            ops.push_content(users[in_group], "free", hour=hour)
            if self.invite:
                ops.invite_to_group(users[~in_group])
        if today == self.promotion_day:
            ops.send_promo(users, count=self.promo_count, hour=hour)
        if today == self.seeding_day:
            ops.push_content(users, "free", hour=hour)
