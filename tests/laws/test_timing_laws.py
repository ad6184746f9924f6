"""Laws 13-15 (issue 15, sim/laws/timing.py): the calendar measures on synthetic tables with known
answers, and the laws' evaluation on made-up results (band edges, the campaign's needed
horizon)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis import calendar_measures as cm
from sim.analysis.law_measures import MissingData
from sim.config import parse_config
from sim.laws import timing
from sim.laws.plan import BASELINE, Plan, Results
from sim.laws.runner import LAWS, evaluate


def test_promo_open_rate_and_coupon_redemption_pool_days() -> None:
    daily = pd.DataFrame({"promo_reached": [100, 300], "promo_opened": [10, 30],
                          "coupons_issued": [50, 50]})  # fmt: skip
    buys = pd.DataFrame({"discount": [0.0, 5.0, 2.0, 0.0]})
    tables = {"daily": daily, "purchases": buys}
    assert cm.promo_open_rate(tables) == pytest.approx(0.1)
    assert cm.coupon_redemption(tables) == pytest.approx(0.02)
    empty = {"daily": daily.assign(promo_reached=0, coupons_issued=0), "purchases": buys}
    assert math.isnan(cm.promo_open_rate(empty)) and math.isnan(cm.coupon_redemption(empty))


def test_friends_per_inviter_counts_the_window_only() -> None:
    users = pd.DataFrame({"referrer_id": [-1, 7, 7, 7, 9, 9, 4],
                          "join_day": [0, 1, 5, 22, 3, 40, 2],
                          "revenue": np.zeros(7), "cost_money": np.ones(7)})  # fmt: skip
    found = cm.referred_per_inviter({"users": users}, 1, 22)
    assert found == {"per_inviter": 5 / 3, "friends": 5.0, "inviters": 3.0}
    with pytest.raises(MissingData, match="referred arrivals"):
        cm.referred_per_inviter({"users": users}, 50, 60)
    assert cm.net_value_total({"users": users}) == -7.0


def plan(days: int = 180) -> Plan:
    return Plan(parse_config({"name": "p", "days": days, "population": {"initial_users": 100}}))


def law(key: str):
    return next(x for x in LAWS if x.key == key)


def test_the_timing_laws_are_in_the_catalogue_with_unique_keys() -> None:
    keys = [x.key for x in LAWS]
    assert len(keys) == len(set(keys))
    assert {"13a", "13b", "13c", "14a", "14b", "15a", "15b"} <= set(keys)


def test_peak_over_trough_holds_above_its_band_edge_only() -> None:
    p = plan()
    for peak, status in ((0.15, "holds"), (0.11, "violated")):
        results = Results({timing.PEAK: {"promo_open_rate": peak},
                           timing.TROUGH: {"promo_open_rate": 0.1}})  # fmt: skip
        assert evaluate(law("13a"), results, p).status == status


def test_a_campaign_lifts_and_dips_on_made_up_purchases() -> None:
    p = plan()
    base = np.full(180, 10.0)
    sale = base.copy()
    sale[60:71] = 15.0
    sale[71:101] = 9.0
    results = Results({BASELINE: {"daily_purchases": tuple(base)},
                       timing.campaign_run(p): {"daily_purchases": tuple(sale)}})  # fmt: skip
    assert evaluate(law("14a"), results, p).value == pytest.approx(0.5)
    assert evaluate(law("14b"), results, p).value == pytest.approx(-0.1)
    short = plan(90)
    assert evaluate(law("14a"), results, short).status == "not measurable"
