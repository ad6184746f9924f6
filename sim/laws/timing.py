"""Laws 13–15, calendar, timing and referral (issue 15; docs/LAWS.md):

* 13a/13b — the same weekly offer (promotion + coupon, ``timed_offer``) sent at each user's
  segment peak hour is opened and redeemed clearly more than at its trough ([003]: a coffee
  chain's coupon redemption rose from 35% to 68%; the model's ratio is reported, not forced);
* 13c — ``content_calendar``'s weekday choice changes outcomes: group interaction on Wednesday
  (the [001] interaction peak) opens better than on Sunday;
* 14a/14b — an 11-day campaign season (the default demand lift and discount) lifts purchases in
  its window and pulls some forward: the 30 days after it sell less than without it;
* 15a/15b — a 21-day referral drive on group members ("bring 3 friends to unlock", [003])
  brings 2–4 new members per inviter among inviters ([003] 2.8); its net value, net of the
  rewards it paid, is reported.
"""

from __future__ import annotations

import datetime as dt
import math

from sim.analysis.law_measures import MissingData
from sim.laws.law import Band, Law, Measured, pct, signed_pct, times, yuan
from sim.laws.plan import BASELINE, Plan, Results, Run, call, run_of
from sim.world.params import CampaignEvent

PEAK = run_of(call("timed_offer", hour=-1))
TROUGH = run_of(call("timed_offer", hour=-2))
INTERACTION_WED = run_of(call("content_calendar", interaction_day=2))
INTERACTION_SUN = run_of(call("content_calendar", interaction_day=6))
DRIVE = run_of(*BASELINE.strategies, call("referral_rewards"))

CAMPAIGN_START_DAY, CAMPAIGN_DAYS, AFTER_DAYS = 60, 11, 30
"""The campaign of laws 14: days 60–70 (11 days, as Double 11's 1–11 November), then 30 days."""


def campaign_run(plan: Plan) -> Run:
    """The baseline world with one campaign season on days 60–70 of the plan's calendar."""
    start = plan.config.world.calendar.start_date + dt.timedelta(days=CAMPAIGN_START_DAY)
    event = CampaignEvent(
        name="double11", start=start, end=start + dt.timedelta(days=CAMPAIGN_DAYS - 1)
    )
    return run_of(*BASELINE.strategies, world={"calendar.campaigns": (event,)})


def _ratio(results: Results, metric: str) -> tuple[float, float, float]:
    peak, trough = results.metric(PEAK, metric), results.metric(TROUGH, metric)
    return (peak / trough if trough else math.inf), peak, trough


def open_ratio(results: Results, plan: Plan) -> Measured:
    ratio, peak, trough = _ratio(results, "promo_open_rate")
    return Measured(
        ratio, times(ratio), f"promo opened: peak hour {pct(peak)}, trough {pct(trough)}"
    )


def redeem_ratio(results: Results, plan: Plan) -> Measured:
    ratio, peak, trough = _ratio(results, "coupon_redemption")
    return Measured(ratio, times(ratio),
                    f"coupons redeemed: peak {pct(peak, 2)}, trough {pct(trough, 2)} "
                    "([003] 35% → 68%, 1.94×)")  # fmt: skip


def weekday_changes(results: Results, plan: Plan) -> Measured:
    wed = results.metric(INTERACTION_WED, "open_rate")
    sun = results.metric(INTERACTION_SUN, "open_rate")
    change = wed / sun - 1.0 if sun else math.inf
    rev_wed = results.metric(INTERACTION_WED, "revenue_per_user")
    rev_sun = results.metric(INTERACTION_SUN, "revenue_per_user")
    return Measured(change, signed_pct(change),
                    f"content opened: Wed {pct(wed)}, Sun {pct(sun)}; revenue/user "
                    f"{yuan(rev_wed)} vs {yuan(rev_sun)}")  # fmt: skip


def _window_change(results: Results, plan: Plan, first: int, days: int) -> tuple[float, int]:
    if plan.days < CAMPAIGN_START_DAY + CAMPAIGN_DAYS + AFTER_DAYS:
        raise MissingData(
            f"a run of at least {CAMPAIGN_START_DAY + CAMPAIGN_DAYS + AFTER_DAYS} days"
        )
    with_campaign = results.metric(campaign_run(plan), "daily_purchases")
    without = results.metric(BASELINE, "daily_purchases")
    a = sum(with_campaign[first : first + days])
    b = sum(without[first : first + days])
    return (a / b - 1.0 if b else math.inf), int(b)


def campaign_lift(results: Results, plan: Plan) -> Measured:
    change, base = _window_change(results, plan, CAMPAIGN_START_DAY, CAMPAIGN_DAYS)
    return Measured(change, signed_pct(change),
                    f"purchases in the {CAMPAIGN_DAYS}-day window vs {base:,} without")  # fmt: skip


def campaign_pull_forward(results: Results, plan: Plan) -> Measured:
    first = CAMPAIGN_START_DAY + CAMPAIGN_DAYS
    change, base = _window_change(results, plan, first, AFTER_DAYS)
    return Measured(change, signed_pct(change),
                    f"purchases in the {AFTER_DAYS} days after vs {base:,} without")  # fmt: skip


def per_inviter(results: Results, plan: Plan) -> Measured:
    found = results.metric(DRIVE, "drive_referrals")
    return Measured(found["per_inviter"], f"{found['per_inviter']:.2f}",
                    f"{found['friends']:,.0f} friends from {found['inviters']:,.0f} inviters, "
                    "days 1-22 ([003] 2.8)")  # fmt: skip


def drive_net_value(results: Results, plan: Plan) -> Measured:
    drive = results.metric(DRIVE, "net_value_total")
    base = results.metric(BASELINE, "net_value_total")
    return Measured(drive - base, yuan(drive - base),
                    "net value (revenue − cost incl. rewards) of the world with the drive − "
                    "without")  # fmt: skip


WHY_TIMING = (
    "A message read when the user has time and appetite — the segment's peak hour, the weekly "
    "interaction peak — is opened and acted on more than the same message at a trough."
)
WHY_CAMPAIGN = (
    "A sale season concentrates demand: lower prices and attention lift buying, but much of it "
    "is buying sooner, so the weeks after sell less."
)
WHY_REFERRAL = (
    "An incentive with a goal makes sharing worth it for a while; friends come in a few at a "
    "time per inviter, and the rewards are a cost."
)
LAWS = (
    Law("13a", "timing: promo opens peak/trough",
        Band(1.2, math.inf, "≥ 1.2×"), "ratio", "[003] push at peak demand", WHY_TIMING,
        lambda plan: [PEAK, TROUGH], open_ratio),
    Law("13b", "timing: redemption peak/trough",
        Band(1.2, math.inf, "≥ 1.2×"), "ratio", "[003] coupons 35% → 68%", WHY_TIMING,
        lambda plan: [PEAK, TROUGH], redeem_ratio),
    Law("13c", "calendar: interaction Wed vs Sun",
        Band(0.0, math.inf, "> 0 (Wed opens more)", lo_open=True), "relative change",
        "[001] Wednesday interaction peak", WHY_TIMING,
        lambda plan: [INTERACTION_WED, INTERACTION_SUN], weekday_changes),
    Law("14a", "campaign lifts purchases",
        Band(0.10, math.inf, "≥ +10%"), "relative change", "issue 15 (618, Double 11)",
        WHY_CAMPAIGN, lambda plan: [BASELINE, campaign_run(plan)], campaign_lift),
    Law("14b", "campaign pulls forward (dip after)",
        Band(-math.inf, 0.0, "< 0", hi_open=True), "relative change",
        "issue 15 (pull-forward)", WHY_CAMPAIGN,
        lambda plan: [BASELINE, campaign_run(plan)], campaign_pull_forward),
    Law("15a", "referral drive: friends per inviter",
        Band(2.0, 4.0, "2–4"), "per inviter", "[003] 21-day drive: 2.8", WHY_REFERRAL,
        lambda plan: [DRIVE], per_inviter),
    Law("15b", "referral drive: net value Δ",
        None, "¥", "issue 15 (net of rewards)", WHY_REFERRAL,
        lambda plan: [BASELINE, DRIVE], drive_net_value),
)  # fmt: skip
