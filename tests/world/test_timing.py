"""Calendar, timing and referral incentives (issue 15): real dates and weekdays for a start date,
config validation of the new fields, the per-day scalars (paydays, campaigns), the hour
profiles, and the direction of each effect on small worlds — a push at the segment's peak hour
is opened and redeemed more than at its trough, a campaign lifts purchases and dips after, a
referral drive brings friends and books its rewards, a live stream hands its offer to
attendees — with the invariants kept (revenue = sum of purchases, same seed ⇒ same output)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.calendar import DEFAULT_START_DATE, date_of, day_of, weekday_of
from sim.config import ConfigError, load_config, parse_config
from sim.engine.simulation import Simulation
from sim.rules.schema import Rule
from sim.world import arrivals
from sim.world.actions import Operations
from sim.world.params import CalendarParams, WorldParams
from sim.world.population_spec import OCCUPATIONS
from sim.world.timing import (
    DAY_DEMAND,
    DAY_OPEN,
    DAY_PAYDAY,
    DAY_PRICE_KEEP,
    day_effects,
    hour_profile,
    peak_hours,
    trough_hours,
)
from strategies.base import Strategy
from strategies.registry import make_strategy

USERS, DAYS, SEED = 3_000, 42, 7


def config(days: int = DAYS, users: int = USERS, seed: int = SEED, **world):
    return parse_config(
        {
            "name": "timing",
            "seed": seed,
            "days": days,
            "population": {"initial_users": users},
            "world": world,
            "output": {"purchases": True},
        },
        "<test>",
    )


_RUNS: dict[str, dict[str, pd.DataFrame]] = {}


def run(strategies: tuple = (), days: int = DAYS, **world) -> dict[str, pd.DataFrame]:
    """Tables of a small world under ``strategies`` ((name, params dict) pairs), memoised."""
    key = repr((strategies, days, world))
    if key not in _RUNS:
        made = [make_strategy(name, dict(params)) for name, params in strategies]
        _RUNS[key] = Simulation(config(days, **world), made).run().tables
    return _RUNS[key]


# -- dates and weekdays ------------------------------------------------------------------------


def test_dates_and_weekdays_follow_the_start_date() -> None:
    start = dt.date(2026, 6, 18)  # a Thursday
    assert weekday_of(start, 0) == 3
    assert weekday_of(start, 4) == 0  # Monday 22 June
    assert date_of(start, 14) == dt.date(2026, 7, 2)
    assert day_of(start, dt.date(2026, 11, 11)) == 146
    assert DEFAULT_START_DATE.weekday() == 0  # day 0 stays a Monday by default


class WeekdayLog(Strategy):
    """Test-only: logs (day, date, weekday) as operations see them."""

    name = "weekday_log"

    def start(self, ops: Operations) -> None:
        self.seen_: list[tuple[int, dt.date, int]] = []

    def on_day(self, ops: Operations) -> None:
        self.seen_.append((ops.day, ops.date, ops.weekday))


def test_operations_see_the_real_date_and_weekday() -> None:
    sim = Simulation(config(days=9, users=200, calendar={"start_date": "2026-02-27"}),
                     [WeekdayLog()])  # fmt: skip
    sim.run()
    seen = sim.strategies[0].seen_
    assert [d for d, _, _ in seen] == list(range(9))
    assert all(date == dt.date(2026, 2, 27) + dt.timedelta(days=d) for d, date, _ in seen)
    assert all(wd == date.weekday() for _, date, wd in seen)


def test_content_calendar_pushes_on_the_real_weekdays() -> None:
    tables = run((("content_calendar", {}),), days=14,
                 calendar={"start_date": "2026-03-04"})  # a Wednesday  # fmt: skip
    daily = tables["daily"]
    weekday = (np.arange(14) + 2) % 7
    assert (daily["messages_promo"].to_numpy()[weekday == 4] > 0).all()  # Fridays
    assert (daily["messages_promo"].to_numpy()[weekday != 4] == 0).all()


def test_a_weekday_rule_fires_on_that_real_weekday() -> None:
    rule = Rule.model_validate(
        {
            "name": "wed",
            "on": {"weekday": "wed"},
            "when": "true",
            "do": {"action": "send_promo"},
        }  # fmt: skip
    )
    start = dt.date(2026, 3, 5)  # a Thursday
    fired = [d for d in range(14) if rule.fires_on(d, weekday_of(start, d))]
    assert [date_of(start, d).weekday() for d in fired] == [2, 2]


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"start_date": "2026-02-30"}, "calendar.start_date"),
        ({"start_date": "next monday"}, "calendar.start_date"),
        ({"paydays": [31]}, "paydays must be days of the month 1-28"),
        ({"weekday_open_logit": [0.1, 0.2]}, "expected 7 values"),
        ({"hour_peaks": {"pilot": [[9, 1]]}}, "unknown segment"),
        ({"campaigns": [{"name": "x", "start": "2026-11-11", "end": "2026-11-01"}]},
         "is before start"),
        ({"campaigns": [{"name": "x", "start": "2026-11-01", "end": "2026-11-11",
                         "discount": 1.5}]}, "discount"),
        ({"live_streams": [{"date": "2026-01-10", "start_hour": 25}]}, "start_hour"),
    ],
)  # fmt: skip
def test_bad_calendar_fields_are_refused_with_their_name(calendar: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(calendar=calendar)


def test_hour_peaks_cover_exactly_the_occupations() -> None:
    assert set(CalendarParams().hour_peaks) == set(OCCUPATIONS)


# -- per-day scalars and hour profiles ----------------------------------------------------------


def test_payday_lift_falls_on_the_payday_window_and_the_squeeze_before() -> None:
    cal = CalendarParams(start_date=dt.date(2026, 1, 1), paydays=(10,))
    d = day_effects(cal, 40)[:, DAY_PAYDAY]
    day = {date_of(cal.start_date, k).day: d[k] for k in range(31)}
    assert day[10] == day[11] == day[12] == cal.payday_buy_logit
    assert day[13] == 0.0 and day[1] == 0.0
    assert day[5] == day[9] == cal.pre_payday_buy_logit


def test_a_campaign_lifts_demand_cuts_prices_in_its_window_then_dips() -> None:
    event = {"name": "618", "start": dt.date(2026, 6, 1), "end": dt.date(2026, 6, 18)}
    cal = CalendarParams(start_date=dt.date(2026, 5, 25), campaigns=(event,))
    d = day_effects(cal, 60)
    inside = np.arange(7, 25)
    assert (d[inside, DAY_DEMAND] > 0).all() and (d[inside, DAY_PRICE_KEEP] < 1).all()
    assert (d[25:39, DAY_DEMAND] < 0).all()  # the 14-day dip
    assert (d[:7, DAY_DEMAND] == 0).all() and (d[39:, DAY_DEMAND] == 0).all()
    assert (d[:7, DAY_PRICE_KEEP] == 1).all()


def test_weekday_open_logits_repeat_weekly() -> None:
    d = day_effects(CalendarParams(), 21)[:, DAY_OPEN]
    assert np.array_equal(d[:7], d[7:14]) and d[2] == max(d[:7])  # Wednesday peak


def test_hour_profiles_peak_at_one_in_the_evening_and_bottom_at_the_floor() -> None:
    cal = CalendarParams()
    profile = hour_profile(cal)
    assert np.allclose(profile.max(axis=1), 1.0)
    assert np.allclose(profile.min(axis=1), cal.hour_floor)
    assert ((peak_hours(cal) >= 19) & (peak_hours(cal) <= 23)).all()
    assert ((trough_hours(cal) >= 1) & (trough_hours(cal) <= 6)).all()


# -- direction of effects and invariants ---------------------------------------------------------

PEAK = (("timed_offer", {"hour": -1}),)
TROUGH = (("timed_offer", {"hour": -2}),)


def test_an_offer_at_the_peak_hour_is_opened_and_redeemed_more_than_at_the_trough() -> None:
    peak, trough = run(PEAK), run(TROUGH)

    def rates(t: dict[str, pd.DataFrame]) -> tuple[float, float]:
        d = t["daily"]
        redeemed = (t["purchases"]["discount"] > 0).sum() / d["coupons_issued"].sum()
        return d["promo_opened"].sum() / d["promo_reached"].sum(), redeemed

    (open_peak, redeem_peak), (open_trough, redeem_trough) = rates(peak), rates(trough)
    assert open_peak > 1.2 * open_trough
    assert redeem_peak > redeem_trough
    assert open_peak < 3 * open_trough  # tens of percent, not multiples


def test_an_invalid_push_hour_is_refused() -> None:
    sim = Simulation(config(days=1, users=50), [])
    ops = sim.initial_view()
    with pytest.raises(ValueError, match="hour must be 0-23"):
        ops.send_promo(ops.reachable(), hour=24)


CAMPAIGN = {"campaigns": [{"name": "sale", "start": "2026-01-19", "end": "2026-01-25"}]}


def test_a_campaign_lifts_purchases_in_its_window_and_revenue_still_adds_up() -> None:
    base = run((("blanket", {}),), days=40)
    sale = run((("blanket", {}),), days=40, calendar=CAMPAIGN)
    window = slice(14, 21)
    bought = sale["daily"]["purchases"].to_numpy()
    assert bought[window].sum() > 1.1 * base["daily"]["purchases"].to_numpy()[window].sum()
    assert bought[:14].sum() == base["daily"]["purchases"].to_numpy()[:14].sum()  # before: same
    assert sale["daily"]["revenue"].sum() == pytest.approx(sale["purchases"]["price_paid"].sum())
    assert sale["daily"]["discount"].to_numpy()[window].sum() > 0


def test_a_referral_drive_brings_lower_intent_friends_and_books_its_rewards() -> None:
    base = run((("blanket", {}),), days=30)
    drive = run((("blanket", {}), ("referral_rewards", {})), days=30)
    referred = drive["daily"]["arrivals_referred"].sum()
    assert referred > 2 * base["daily"]["arrivals_referred"].sum()
    rewards = drive["daily"]["rewards"].sum()
    assert rewards > 0
    blanket_cost = base["daily"]["cost_money"].sum()
    assert drive["daily"]["cost_money"].sum() > blanket_cost  # rewards are paid


def test_referred_friends_arrive_with_less_need_than_the_same_users_would_organically() -> None:
    spec = config().population
    uids = np.arange(1, 2001, dtype=np.uint64)
    referred = arrivals.user_attributes(spec, SEED, uids, np.full(2000, arrivals.REFERRAL))
    organic = arrivals.user_attributes(spec, SEED, uids, np.zeros(2000, np.int8))
    assert (referred["need"] < organic["need"]).all()


def test_a_live_stream_gives_its_offer_to_attendees_on_its_day() -> None:
    session = ({"date": "2026-01-12", "start_hour": 21, "attendance": 0.1},)
    tables = run((), days=10, calendar={"live_streams": list(session)})
    coupons = tables["daily"]["coupons_issued"].to_numpy()
    assert coupons[7] > 0.05 * USERS and coupons[np.arange(10) != 7].sum() == 0


def test_same_seed_same_output_with_the_calendar_on() -> None:
    world = {"calendar": {"campaigns": [{"name": "s", "start": "2026-01-08", "end": "2026-01-12"}],
                          "live_streams": [{"date": "2026-01-09"}]}}  # fmt: skip
    strategies = [make_strategy("timed_offer", {}), make_strategy("referral_rewards", {})]
    a = Simulation(config(days=20, **world), strategies).run().tables
    b = Simulation(config(days=20, **world), strategies).run().tables
    for name in ("daily", "users", "purchases"):
        pd.testing.assert_frame_equal(a[name], b[name])


def test_world_defaults_have_no_campaign_and_no_live_stream() -> None:
    cal = WorldParams().calendar
    assert cal.campaigns == () and cal.live_streams == ()


def test_a_bad_date_in_a_yaml_file_names_its_key(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nworld:\n  calendar: {start_date: 2026-06-31}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"world\.calendar\.start_date.*2026-06-31"):
        load_config(path)
    path.write_text("name: x\nworld:\n  calendar: {start_date: 2026-06-30}\n", "utf-8")
    assert load_config(path).world.calendar.start_date == dt.date(2026, 6, 30)


def test_money_follows_the_wallet_purchases_rise_after_payday_and_dip_before_it() -> None:
    """Start 2026-01-05, payday the 10th: the lift covers days 5-7 and 36-38 (Jan and Feb 10-12),
    the month-end squeeze days 31-35 (Feb 5-9). Against the same world with neither effect."""
    flat = {"payday_buy_logit": 0.0, "pre_payday_buy_logit": 0.0}
    paid = run((("blanket", {}),), days=40)["daily"]["purchases"].to_numpy()
    plain = run((("blanket", {}),), days=40, calendar=flat)["daily"]["purchases"].to_numpy()
    lift = [5, 6, 7, 36, 37, 38]
    assert paid[lift].sum() > 1.05 * plain[lift].sum()
    assert paid[31:36].sum() < plain[31:36].sum()
