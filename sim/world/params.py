"""Parameters of the world model: lifecycle thresholds, product ladder, behaviour, groups, costs.

Every field carries its default and its provenance in ``description``: ``[000]``…``[004]`` name a
source article (see ``../shared/DOMAIN.md``), ``assumed`` marks a modelling choice, ``calibrated``
marks a value tuned so the default world reproduces a stylised fact. ``docs/MODEL.md`` explains
how each one enters the daily transitions; its parameter tables are generated from these models
(``python -m sim.world.modeldoc``), so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.calendar import DEFAULT_START_DATE

PREFERENCES = ("career", "growth", "parenting", "finance", "tech")
CONTENT_TIERS = ("free", "camp", "course", "member", "comeback")

MAX_MAGNITUDE = 1e9  # a number without its own upper bound: |x| <= this (no overflow, sane memory)


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, instances are immutable, and
    numbers are numbers — finite (``.nan``/``.inf`` refused), not booleans (``days: true`` is
    not 1), and within ±:data:`MAX_MAGNITUDE` where a field declares no upper bound itself."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _expects_number(field.annotation):
            for item in _items(value):
                if isinstance(item, bool):
                    raise ValueError(f"expected a number, got the boolean {str(item).lower()}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _numbers_in_sane_range(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None or not _expects_number(field.annotation):
            return value
        if _has_upper_bound(field.metadata):
            return value
        for item in _items(value):
            if isinstance(item, int | float) and abs(item) > MAX_MAGNITUDE:
                raise ValueError(
                    f"expected a number between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}"
                )
        return value


def _items(value: Any) -> tuple[Any, ...]:
    """The value itself, or the items of a list/tuple, or the values of a dict."""
    if isinstance(value, dict):
        return tuple(value.values())
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _expects_number(annotation: Any) -> bool:
    """Whether an annotation is a number, or an optional/list/dict of numbers."""
    if annotation in (int, float):
        return True
    return any(_expects_number(arg) for arg in get_args(annotation) if arg is not str)


def _has_upper_bound(metadata: list[Any]) -> bool:
    return any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in metadata)


class LifecycleParams(Strict):
    core_min_purchases: int = Field(3, ge=1, description="[000] core user = paid at least 3 times")
    dormant_after_days: int = Field(
        180, ge=1, description="[000] dormant = no activity for more than 6 months"
    )
    shallow_churn_after_days: int = Field(
        7, ge=1, description="[000][003] silence that starts shallow churn (7-day trigger example)"
    )
    shallow_churn_max_days: int = Field(
        30, ge=1, description="[003] shallow churn: gone <= 30 days"
    )
    deep_churn_min_days: int = Field(60, ge=1, description="[003] deep churn: gone 60+ days")
    high_value_revenue: float = Field(
        500.0,
        ge=0,
        description="assumed: revenue to date (¥) that makes a user 'high value' in the [002] "
        "value x engagement quadrants (more than the camp, i.e. bought a real product)",
    )
    high_engagement_active_days_30: int = Field(
        8,
        ge=1,
        le=30,
        description="assumed: active days in the last 30 for 'high engagement' [002]",
    )
    active_speaker_days_7: int = Field(
        3, ge=1, le=7, description="[003] active group member: speaks on >= 3 days a week"
    )
    freeloader_window_days: int = Field(
        30,
        ge=1,
        le=32,
        description="assumed: claimed a benefit but never spoke in this window [003]",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleParams:
        if not (
            self.shallow_churn_after_days <= self.shallow_churn_max_days < self.deep_churn_min_days
        ):
            raise ValueError(
                "expected shallow_churn_after_days <= shallow_churn_max_days < deep_churn_min_days"
            )
        return self


class Product(Strict):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="[000][001] a step of the product ladder"
    )
    price: float = Field(
        gt=0, description="[000][001] list price in ¥ (camp ¥9.9; course within ¥2,000-5,000)"
    )
    reference_price: float = Field(
        gt=0,
        description="assumed: price at which base_daily_conversion was set; cheaper converts "
        "better through each user's price sensitivity",
    )
    base_daily_conversion: float = Field(
        gt=0,
        lt=1,
        description="assumed: purchase probability of a neutral user on a buying occasion "
        "(an active day or an opened promo) with full intent (MODEL.md §5.5d)",
    )
    min_gap_days: int = Field(
        0, ge=0, description="assumed: days after the previous purchase before this one"
    )
    study_per_active_day: float = Field(
        gt=0,
        le=1,
        description="assumed: course progress on a study day, times (0.5 + engagement); a user "
        "studies on an active day with probability 0.5 + 0.5 x engagement",
    )
    content_tier: str = Field(
        description="[000][003] the content tier this product belongs to (relevance matching)"
    )

    @field_validator("content_tier")
    @classmethod
    def _known_tier(cls, v: str) -> str:
        if v not in CONTENT_TIERS:
            raise ValueError(f"expected one of {list(CONTENT_TIERS)}")
        return v


DEFAULT_LADDER = (
    Product(
        name="camp",
        price=9.9,
        reference_price=9.9,
        base_daily_conversion=0.04,
        min_gap_days=0,
        study_per_active_day=0.2,
        content_tier="camp",
    ),
    Product(
        name="course",
        price=2999.0,
        reference_price=2999.0,
        base_daily_conversion=0.015,
        min_gap_days=7,
        study_per_active_day=0.04,
        content_tier="course",
    ),
    Product(
        name="membership",
        price=1999.0,
        reference_price=1999.0,
        base_daily_conversion=0.008,
        min_gap_days=30,
        study_per_active_day=0.03,
        content_tier="member",
    ),
    Product(
        name="consulting",
        price=4999.0,
        reference_price=4999.0,
        base_daily_conversion=0.005,
        min_gap_days=30,
        study_per_active_day=0.25,
        content_tier="member",
    ),
)


class BehaviourParams(Strict):
    # activity
    active_intercept: float = Field(
        -1.0, description="calibrated: logit of daily activity, median user"
    )
    active_engagement: float = Field(1.0, description="assumed: weight of logit(engagement)")
    active_trust: float = Field(1.5, description="assumed: weight of (trust - 0.5)")
    active_group_vitality: float = Field(
        1.5, description="assumed: weight of the group's speaking rate yesterday (contagion) [003]"
    )
    active_opened_content: float = Field(
        1.0,
        description="assumed: logit added by opening relevant content, times its effective "
        "relevance (reading is not activity: it only invites it)",
    )
    active_opened_promo: float = Field(
        0.0,
        description="assumed: logit added by opening a promotional message (reading an ad "
        "is not activity; an opened promo is a buying occasion instead, §5.5d)",
    )
    active_contact: float = Field(1.0, description="assumed: a 1v1 contact today")
    active_muted: float = Field(
        -0.5, le=0, description="assumed: a user who muted the account is disengaging"
    )
    habit_decay_per_day: float = Field(
        0.05, ge=0, description="assumed: logit lost per day of the user's own silence"
    )
    habit_decay_cap_days: int = Field(
        30, ge=0, description="assumed: silence beyond this adds no loss"
    )
    forget_after_days: int = Field(
        14, ge=1, description="[001] two weeks without hearing from the brand and users forget you"
    )
    forget_penalty: float = Field(0.5, ge=0, description="assumed: logit lost once forgotten")
    # opening pushes
    open_intercept: float = Field(
        -1.9,
        description="calibrated: logit of opening an irrelevant push (open rate of pushed "
        "content <= 40% under every strategy; [003] sets >= 30% as a growth target)",
    )
    open_relevance: float = Field(
        1.4, description="assumed: weight of a push's effective relevance (0..1)"
    )
    wear_half_life_days: float = Field(
        7.0,
        gt=0,
        description="assumed: memory of content received (content wears out when pushed "
        "again and again [001])",
    )
    wear_weight: float = Field(
        2.0,
        ge=0,
        description="assumed: novelty = 1 / (1 + w x wear), wear = exponentially weighted "
        "content pushes per day; a push a day keeps a third of its effect",
    )
    lapsed_open_penalty: float = Field(
        1.0, ge=0, description="assumed: logit of opening lost by a lapsed (silent) user"
    )
    open_trust: float = Field(1.0, description="assumed: weight of (trust - 0.5)")
    open_fatigue: float = Field(0.3, ge=0, description="assumed: logit lost per excess message/day")
    relevance_stage_weight: float = Field(
        0.5, ge=0, le=1, description="[000][003] share of relevance from tier matching the stage"
    )
    promo_relevance: float = Field(0.15, ge=0, le=1, description="assumed: relevance of a promo")
    # fatigue
    fatigue_half_life_days: float = Field(3.0, gt=0, description="assumed: memory of message load")
    comfort_messages_per_day: float = Field(
        1.0, ge=0, description="[001] about one message a day on a weekly cadence is tolerated"
    )
    comfort_softness: float = Field(
        0.5,
        gt=0,
        description="assumed: excess = h(fatigue - comfort) - h(-comfort) with the "
        "smooth hinge h(x) = s*log(1+exp(x/s)): zero without messages, ~load-comfort above it",
    )
    relevant_fatigue_shield: float = Field(
        0.6,
        ge=0,
        le=1,
        description="assumed: share of a relevant, novel push's load that is not felt",
    )
    mute_per_excess: float = Field(0.004, ge=0, description="assumed: daily mute hazard per excess")
    group_leave_per_excess: float = Field(
        0.012,
        ge=0,
        description="calibrated: 8 promos/day -> ~42% leave the group in a month [003]",
    )
    block_per_excess: float = Field(
        0.0012,
        ge=0,
        description="assumed: daily hazard of deleting/blocking per excess message/day",
    )
    # trust
    trust_gain_relevant: float = Field(0.04, ge=0, description="assumed: per relevant push opened")
    trust_loss_irrelevant: float = Field(
        0.001, ge=0, description="assumed: per irrelevant message received [001]"
    )
    trust_gain_contact: float = Field(0.05, ge=0, description="assumed: per 1v1 contact [000]")
    trust_gain_completion: float = Field(0.10, ge=0, description="assumed: per finished course")
    trust_gain_reward: float = Field(
        0.10,
        ge=0,
        description="assumed: trust gained from a day's rewards of unbounded ¥ value by a user "
        "of trust 0; the gain is w x (1 - exp(-value / reward_value_scale)) x (1 - trust): "
        "grows with value, saturates, and repeated rewards add less",
    )
    reward_value_scale: float = Field(
        3.0,
        gt=0,
        description="calibrated: ¥ value of a day's rewards that gives 63% of the full trust "
        "gain (a point worth nothing gives nothing; a ¥30 gift is hardly better than ¥10)",
    )
    trust_loss_removed: float = Field(0.10, ge=0, description="assumed: removed from a group")
    trust_decay: float = Field(
        0.01, ge=0, le=1, description="assumed: daily pull toward trust_floor"
    )
    trust_floor: float = Field(0.2, ge=0, le=1, description="assumed: trust a neglected user keeps")
    # purchasing
    purchase_trust: float = Field(2.0, description="assumed: weight of (trust - 0.5)")
    purchase_fatigue: float = Field(
        0.15,
        ge=0,
        description="assumed: purchase logit lost per excess message/day (an overloaded user "
        "is annoyed, not persuaded) [001][003]",
    )
    intent_regrow_per_day: float = Field(
        0.02,
        ge=0,
        le=1,
        description="assumed: daily share of the gap to the user's own need level that "
        "buying intent regrows (a need comes back in ~50 days)",
    )
    intent_paving: float = Field(
        0.30,
        ge=0,
        le=1,
        description="assumed: share of the gap to full intent that one opened piece of "
        "relevant, novel content closes (value paving [001]; saturates at 1)",
    )
    intent_paving_ceiling: float = Field(
        1.5,
        ge=1,
        description="assumed: content raises intent toward min(1, ceiling x the user's need), "
        "not beyond: a need can be revealed and sharpened, not created",
    )
    intent_consumed: float = Field(
        0.8, ge=0, le=1, description="assumed: share of intent a purchase uses up"
    )
    wallet_income_elasticity: float = Field(
        0.5,
        ge=0,
        description="assumed: a user's reference price = the product's x (income / "
        "population.price_sensitivity_reference_income) ** e; enters through price sensitivity",
    )
    affordability_weight: float = Field(
        2.0,
        ge=0,
        description="calibrated: purchase logit lost per month of income the price costs "
        "(a ¥2,999 course is 1.2 months of a student's ¥2,500; sets the interior "
        "revenue-maximising price with price sensitivity)",
    )
    promo_lift_per_trust: float = Field(
        2.0,
        ge=0,
        description="calibrated: an opened promo multiplies purchase odds by exp(2*trust): "
        "~2.5x more at trust 0.75 than at 0.3 — value paving before the pitch [001]; bounded "
        "so that no strategy stacked on blanket earns multiples (laws 9)",
    )
    # studying
    study_engagement: float = Field(1.0, ge=0, description="assumed: progress x (0.5 + engagement)")
    # speaking and sharing
    speak_intercept: float = Field(
        -2.85,
        description="calibrated: logit of speaking, active member (groups living < 90 days "
        "without operations ~68-80% [003])",
    )
    speak_engagement: float = Field(1.0, description="assumed: weight of logit(engagement)")
    speak_group_novelty: float = Field(
        2.0, ge=0, description="assumed: extra speaking logit in a brand-new group, fading"
    )
    group_novelty_days: float = Field(
        21.0, gt=0, description="assumed: e-folding time (days) of a group's novelty"
    )
    speak_fatigue: float = Field(
        0.5,
        ge=0,
        description="assumed: speaking logit lost per excess message/day — a group "
        "used as an ad dump goes quiet [003]",
    )
    speak_promo: float = Field(
        0.4,
        ge=0,
        description="assumed: speaking logit lost per promo received today (up to 3): a group "
        "used as an ad dump goes quiet [003]",
    )
    speak_contagion: float = Field(
        8.0, ge=0, description="assumed: weight of the group's speaking rate yesterday [003]"
    )
    share_intercept: float = Field(-4.5, description="assumed: logit of sharing, active user")
    share_trust: float = Field(2.0, description="assumed: weight of (trust - 0.5)")
    referrals_per_share: float = Field(
        0.3, ge=0, description="assumed: mean friends who register per share (Poisson)"
    )
    # the camp: a time-boxed cohort that feeds the course [000]
    camp_days: int = Field(
        7, ge=1, description="[000] the ¥9.9 camp: 7 days of check-ins after buying it"
    )
    camp_checkin: float = Field(
        1.5, ge=0, description="assumed: activity logit added on each day of a running camp"
    )
    camp_intent_gain: float = Field(
        0.12,
        ge=0,
        le=1,
        description="assumed: share of the gap to full intent closed by each active camp day "
        "(the camp shows what the course would give)",
    )
    camp_offer_days: int = Field(
        7, ge=0, description="assumed: days of the course offer that closes the camp"
    )
    camp_offer_lift: float = Field(
        1.6,
        ge=0,
        description="calibrated: purchase logit of the course offer at the camp's end "
        "(newcomers' camp -> course within 60 days ~10%, assumed target in the 5-20% band)",
    )
    # leaving: deleting/blocking (gone) and lapsing (silent, recallable)
    churn_base_hazard: float = Field(
        0.0002,
        ge=0,
        le=1,
        description="assumed: daily hazard of deleting/blocking the account, active user",
    )
    churn_silence_ratio: float = Field(
        2.0,
        ge=1,
        description="assumed: deletion hazard of a user silent for churn_silence_ramp_days "
        "vs active today (the [003] 5x concerns lapsing and is not set here: §5.6)",
    )
    churn_silence_ramp_days: int = Field(
        14, ge=1, description="assumed: days of silence over which that ratio builds up"
    )
    lapse_base_hazard: float = Field(
        0.00005,
        ge=0,
        le=1,
        description="calibrated: daily lapse hazard at activity logit 0 and frailty 1 (silent "
        "2 weeks vs active: 30-day lapse ratio 3.5-7x, [003] 5x)",
    )
    lapse_activity_weight: float = Field(
        1.4,
        ge=0,
        description="assumed: lapse hazard x exp(-w x activity logit): a user drifting away "
        "(habit lost, forgotten, low trust, quiet group) lapses more",
    )
    lapse_hazard_cap: float = Field(
        0.05, gt=0, le=1, description="assumed: the lapse hazard never exceeds this"
    )
    lapse_per_excess: float = Field(
        0.002,
        ge=0,
        description="assumed: daily lapse hazard per excess message/day (overload makes users "
        "tune out before they block) [001]",
    )
    lapsed_activity_penalty: float = Field(
        2.5,
        ge=0,
        description="assumed: activity logit lost while lapsed; a lapsed user who is active "
        "again anyway is recalled",
    )
    recall_coupon: float = Field(
        1.0,
        ge=0,
        description="assumed: activity logit a valid coupon adds for a lapsed user, times its "
        "discount (50% off: +0.5) [000][003] recall coupons",
    )
    churn_trust: float = Field(1.0, ge=0, description="assumed: hazard x exp(-w*(trust-0.5))")
    group_leave_base_hazard: float = Field(
        0.001, ge=0, le=1, description="assumed: daily hazard of leaving a group without overload"
    )


class GroupParams(Strict):
    capacity: int = Field(200, ge=2, description="[000][001] keep groups at or below 200 members")
    join_probability: float = Field(
        0.6, ge=0, le=1, description="assumed: share of new users who join a chat group"
    )
    death_speaking_rate: float = Field(
        0.01, ge=0, le=1, description="calibrated: a group speaking below this share of members..."
    )
    death_silent_days: int = Field(
        9,
        ge=1,
        description="calibrated to [003] 68%: ...for this many days in a row dies (68% of groups "
        "live < 90 days; 7 before disruptive members, issue 15)",
    )
    death_min_members: int = Field(3, ge=0, description="assumed: a group this small dies")


class SocialParams(Strict):
    """Who is in a group and how members move each other: disruptive members (ad posters,
    trolls), what operators see of them when pruning, and KOCs who lead discussion (issue 15)."""

    disruptive_share: float = Field(
        0.03,
        ge=0,
        le=1,
        description="assumed: share of users who are disruptive (ad posters, trolls), drawn at "
        "arrival; [000][001] name them among the members pruning removes, no source counts them",
    )
    disruptor_speak_lift: float = Field(
        3.0, ge=0, description="assumed: speaking logit added for a disruptive member (they post)"
    )
    disruption_scale: float = Field(
        0.004,
        gt=0,
        description="assumed: share of members posting disruptively on a day at which a group's "
        "disruption reaches 63% of its bound: D = 1 - exp(-posting share / scale)",
    )
    open_disruption: float = Field(
        0.4, ge=0, description="assumed: opening logit lost by members at full disruption"
    )
    speak_disruption: float = Field(
        1.0, ge=0, description="assumed: speaking logit lost by members at full disruption"
    )
    leave_disruption: float = Field(
        0.006,
        ge=0,
        le=1,
        description="assumed: daily group-leaving hazard added at full disruption",
    )
    load_disruption: float = Field(
        1.0,
        ge=0,
        description="assumed: irrelevant messages a day a member feels at full disruption (ads "
        "and trolling in the chat weigh like promos: fatigue, muting, leaving, lapsing) [003]",
    )
    flag_disruptive: float = Field(
        0.7,
        ge=0,
        le=1,
        description="assumed: chance an operator's sweep flags a disruptive member who spoke "
        "recently (promo-like posts, reports)",
    )
    flag_innocent: float = Field(
        0.02,
        ge=0,
        le=1,
        description="assumed: chance a sweep flags an ordinary member who spoke recently (the "
        "false-positive rate of judging from signals)",
    )
    group_trust_loss_per_innocent: float = Field(
        0.003,
        ge=0,
        description="assumed: trust every remaining member loses per ordinary member pruned "
        "while seen speaking (a wrongful removal members notice; the pruned member loses "
        "behaviour.trust_loss_removed like anyone removed)",
    )
    koc_speak_lift: float = Field(
        1.0,
        ge=0,
        description="assumed: speaking logit a KOC gains right after a programme reward, "
        "fading linearly to 0 over koc_fade_days without one [002][003]",
    )
    koc_fade_days: int = Field(
        28, ge=1, description="assumed: days an unrewarded KOC's extra speaking lasts"
    )
    koc_scale: float = Field(
        1.0,
        gt=0,
        description="assumed: KOCs speaking in a group on a day at which their presence reaches "
        "63% of its bound: K = 1 - exp(-KOC speakers / scale)",
    )
    speak_koc: float = Field(
        0.3, ge=0, description="assumed: members' speaking logit gained at full KOC presence"
    )
    open_koc: float = Field(
        0.15, ge=0, description="assumed: members' opening logit gained at full KOC presence"
    )


class CostParams(Strict):
    message: float = Field(0.01, ge=0, description="assumed: ¥ per push or promo message sent")
    coupon_issue: float = Field(0.0, ge=0, description="assumed: ¥ per coupon issued")
    operator_hourly: float = Field(60.0, ge=0, description="assumed: ¥ per operator hour")
    contact_minutes: float = Field(10.0, gt=0, description="assumed: minutes per 1v1 contact [000]")
    point_value: float = Field(0.01, ge=0, description="assumed: ¥ cost of one reward point")


# --------------------------------------------------------------------------- calendar and timing
# (issue 15) real dates, weekdays, paydays, an hour-of-day response profile, campaign seasons and
# live-stream sessions. The behaviour step reads them as per-day scalars (sim.world.timing) and a
# per-user timing fit of today's pushes, so they cost almost nothing per user-day.

OCCUPATION_NAMES = ("student", "early_career", "mid_career", "manager", "parent")
"""The occupations (segments) of sim.world.population_spec.OCCUPATIONS, in its order."""

DEFAULT_HOUR_PEAKS: dict[str, tuple[tuple[float, float], ...]] = {
    "student": ((12.5, 0.5), (22.0, 1.0)),
    "early_career": ((8.0, 0.5), (12.5, 0.6), (21.0, 1.0)),
    "mid_career": ((8.0, 0.5), (12.5, 0.7), (21.0, 1.0)),
    "manager": ((7.5, 0.7), (12.5, 0.5), (22.0, 1.0)),
    "parent": ((10.0, 0.6), (14.0, 0.4), (21.5, 1.0)),
}


class CampaignEvent(Strict):
    """A campaign season: a date range with a demand lift and a price cut, then a dip."""

    name: str = Field(min_length=1, description="reference: a label, e.g. 618, double11, new_year")
    start: dt.date = Field(description="reference: first day of the campaign (ISO date)")
    end: dt.date = Field(description="reference: last day of the campaign (ISO date), ≥ start")
    demand_logit: float = Field(
        0.4, ge=-3, le=3, description="assumed: purchase logit added during the campaign"
    )
    discount: float = Field(
        0.1, ge=0, lt=1, description="assumed: share off list prices during the campaign"
    )
    dip_days: int = Field(
        14, ge=0, le=365, description="assumed: days after the campaign with a buying dip"
    )
    dip_logit: float = Field(
        -0.2,
        ge=-3,
        le=0,
        description="assumed: purchase logit after the campaign (stocked up, waiting for the "
        "next sale); the intent a campaign purchase uses up adds its own dip",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CampaignEvent:
        if self.end < self.start:
            raise ValueError(f"campaign {self.name!r}: end {self.end} is before start {self.start}")
        return self


class LiveStream(Strict):
    """A live-stream session: a date, a start hour, attendance and an in-session offer."""

    date: dt.date = Field(description="reference: day of the session (ISO date)")
    start_hour: int = Field(20, ge=0, le=23, description="assumed: hour the session starts (0-23)")
    attendance: float = Field(
        0.05,
        gt=0,
        le=1,
        description="assumed: share of reachable users who attend, at an average hour; scaled "
        "by each segment's hour profile at start_hour",
    )
    offer_discount: float = Field(
        0.2, gt=0, lt=1, description="assumed: in-session offer, share off the next purchase"
    )
    offer_days: int = Field(
        1, ge=1, le=30, description="assumed: days the in-session offer is valid"
    )


class CalendarParams(Strict):
    start_date: dt.date = Field(
        DEFAULT_START_DATE,
        description="reference: date of day 0 (ISO, e.g. 2026-01-05; the default is a Monday, "
        "so day 0 stays a Monday as before)",
    )
    weekday_open_logit: tuple[float, ...] = Field(
        (0.0, 0.0, 0.15, 0.05, -0.05, -0.10, -0.05),
        description="assumed: open logit by weekday Mon..Sun (mean 0; Wednesday peak [001])",
    )
    weekday_speak_logit: tuple[float, ...] = Field(
        (0.0, 0.0, 0.30, 0.10, -0.10, -0.20, -0.10),
        description="assumed: group speaking logit by weekday Mon..Sun (mean 0; Wednesday "
        "interaction peak [001])",
    )
    paydays: tuple[int, ...] = Field(
        (10,), description="assumed: days of the month salaries are paid (1-28) [001] paydays"
    )
    payday_buy_logit: float = Field(
        0.25,
        ge=-3,
        le=3,
        description="assumed: purchase logit on payday and the days after, × the user's price "
        "sensitivity (money follows the wallet) [001]",
    )
    payday_window_days: int = Field(3, ge=1, le=15, description="assumed: days the lift lasts")
    pre_payday_buy_logit: float = Field(
        -0.15,
        ge=-3,
        le=3,
        description="assumed: purchase logit in the days before payday (month-end squeeze), × "
        "price sensitivity",
    )
    pre_payday_days: int = Field(5, ge=0, le=15, description="assumed: days of the squeeze")
    hour_peaks: dict[str, tuple[tuple[float, float], ...]] = Field(
        DEFAULT_HOUR_PEAKS,
        description="assumed: each segment's (occupation's) daily peaks as (hour, weight); "
        "evening peaks per [001], lunch and commute peaks assumed",
    )
    hour_peak_width: float = Field(
        1.5, gt=0, le=12, description="assumed: standard deviation of a peak, hours"
    )
    hour_daytime_level: float = Field(
        0.3,
        ge=0,
        le=10,
        description="assumed: response between peaks while awake (07:00-23:00), in peak-weight "
        "units, so the troughs are at night",
    )
    hour_floor: float = Field(
        0.05, ge=0, lt=1, description="assumed: response at the deepest trough (peak = 1)"
    )
    timing_open_weight: float = Field(
        0.6,
        ge=0,
        le=5,
        description="assumed: open logit per unit of timing fit (profile at the push hour − "
        "0.5; a push without an hour is average, fit 0) [003] push at peak demand",
    )
    timing_buy_weight: float = Field(
        0.4,
        ge=0,
        le=5,
        description="assumed: purchase logit per unit of timing fit of an opened promotion "
        "[003] coupon redemption 35% → 68% at the hour of peak demand",
    )
    campaigns: tuple[CampaignEvent, ...] = Field(
        (), description="campaign seasons (none by default: a world without sales seasons)"
    )
    live_streams: tuple[LiveStream, ...] = Field(
        (), description="live-stream sessions (none by default)"
    )

    @field_validator("weekday_open_logit", "weekday_speak_logit")
    @classmethod
    def _seven(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 7:
            raise ValueError(f"expected 7 values (Monday..Sunday), got {len(v)}")
        if any(abs(x) > 3 for x in v):
            raise ValueError("expected logits between -3 and 3")
        return v

    @field_validator("paydays")
    @classmethod
    def _paydays(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [d for d in v if not 1 <= d <= 28]
        if bad:
            raise ValueError(f"paydays must be days of the month 1-28, got {bad}")
        return v

    @field_validator("hour_peaks")
    @classmethod
    def _peaks(
        cls, v: dict[str, tuple[tuple[float, float], ...]]
    ) -> dict[str, tuple[tuple[float, float], ...]]:
        unknown = sorted(set(v) - set(OCCUPATION_NAMES))
        if unknown:
            raise ValueError(f"unknown segment(s) {unknown}; expected {list(OCCUPATION_NAMES)}")
        missing = sorted(set(OCCUPATION_NAMES) - set(v))
        if missing:
            raise ValueError(f"missing hour peaks for {missing}")
        for name, peaks in v.items():
            if not peaks:
                raise ValueError(f"{name}: expected at least one (hour, weight) peak")
            for hour, weight in peaks:
                if not (0 <= hour < 24 and 0 < weight <= 10):
                    raise ValueError(
                        f"{name}: a peak is (hour in [0, 24), weight in (0, 10]), got "
                        f"({hour}, {weight})"
                    )
        return v


# --------------------------------------------------------------------------- referral incentives
class ReferralParams(Strict):
    """(issue 15) how a referral incentive (unlock, reward per invite, team goal) moves sharing."""

    incentive_share_logit: float = Field(
        3.0,
        ge=0,
        le=8,
        description="calibrated to law 15a ([003] 2.8 new members per inviter): the largest "
        "share-logit boost an incentive gives while it runs",
    )
    incentive_value_scale: float = Field(
        20.0,
        gt=0,
        description="assumed: ¥ value at which the boost reaches 63% of its largest "
        "(boost = largest × (1 − exp(−value / scale)): diminishing returns)",
    )
    incentive_friends_per_share: float = Field(
        2.0,
        ge=0,
        le=10,
        description="calibrated to law 15a: mean friends who register per share made under an "
        "incentive (an invitation with a reason to join; a plain share brings "
        "referrals_per_share)",
    )


class WorldParams(Strict):
    lifecycle: LifecycleParams = LifecycleParams()
    products: tuple[Product, ...] = Field(
        DEFAULT_LADDER, description="the product ladder, cheapest first [000][001]"
    )
    behaviour: BehaviourParams = BehaviourParams()
    groups: GroupParams = GroupParams()
    social: SocialParams = SocialParams()
    costs: CostParams = CostParams()
    calendar: CalendarParams = CalendarParams()
    referral: ReferralParams = ReferralParams()

    @field_validator("products")
    @classmethod
    def _unique_names(cls, v: tuple[Product, ...]) -> tuple[Product, ...]:
        if not v:
            raise ValueError("expected at least one product")
        names = [p.name for p in v]
        if len(set(names)) != len(names):
            raise ValueError(f"product names must be unique, got {names}")
        return v
