"""Per-user outcomes, run metrics, retention/LTV curves and the funnel (sim.analysis.outcomes).

Two small simulated worlds (2,000 base users plus arrivals, 120 days) are built once for the
module: ``busy`` (the test-only strategy of ``conftest`` that uses every action, so costs vary by
user) and ``none`` (no operations: nobody is reached, yet some users buy). The analytic cases
(discounting, cost allocation) use tiny hand-made tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.curves import share_retained_curve
from sim.analysis.outcomes import (
    METRICS,
    RETENTION_DAYS,
    SEGMENTS,
    funnel,
    ltv_curve,
    retention_curve,
    roi,
    run_metrics,
    segment_metrics,
    user_outcomes,
    weekly_retention,
    world_metrics,
)
from sim.analysis.summary import arrival_retention

DAYS = 120
ARRIVALS = {"organic": 4.0, "ads": 4.0, "content": 2.0, "live": 2.0}


@pytest.fixture(scope="module")
def worlds(make_config, run_world, make_busy):
    cfg = make_config(days=DAYS, users=2_000, arrivals=ARRIVALS)
    return {"busy": run_world(cfg, [make_busy()]), "none": run_world(cfg)}


@pytest.fixture(scope="module")
def busy(worlds):
    return worlds["busy"]


@pytest.fixture(scope="module")
def outcomes(busy):
    return user_outcomes(busy, DAYS)


def _arrival_ids(outcomes: pd.DataFrame) -> np.ndarray:
    return outcomes.index[outcomes["join_day"] >= 0].to_numpy()


# --------------------------------------------------------------------------- per user


def test_one_row_per_user_and_money_adds_up(busy, outcomes):
    users = busy["users"]
    assert len(outcomes) == len(users)
    assert outcomes.index.is_unique
    assert set(outcomes.index) == set(users["user_id"])
    np.testing.assert_allclose(outcomes["net_value"], outcomes["revenue"] - outcomes["cost"])
    by_user = busy["purchases"].groupby("user_id")["price_paid"].sum()
    revenue = outcomes["revenue"]
    np.testing.assert_allclose(revenue.reindex(by_user.index), by_user, rtol=1e-9)
    assert (revenue.drop(by_user.index) == 0).all()
    assert math.isclose(revenue.sum(), busy["purchases"]["price_paid"].sum(), rel_tol=1e-9)
    assert outcomes["cost"].nunique() > 5, "the busy world should cost different users differently"


def test_flags_and_durations_follow_the_users_table(busy, outcomes):
    users = busy["users"].set_index("user_id").loc[outcomes.index]
    assert (outcomes["paid"] == (users["purchases"] > 0)).all()
    assert (outcomes["event"] == outcomes["churned"]).all()
    assert (outcomes["duration"] == users["duration"]).all()
    assert (outcomes["start_day"] == np.maximum(users["join_day"], 0)).all()
    assert (outcomes["referred"] == (users["channel"] == "referral")).all()
    for segment in SEGMENTS:
        assert isinstance(outcomes[segment].dtype, pd.CategoricalDtype)
    # the exposure funnel is nested up to clicking
    assert not (outcomes["opened"] & ~outcomes["reached"]).any()
    assert not (outcomes["clicked"] & ~outcomes["opened"]).any()


def test_retention_is_nan_exactly_where_not_observable(busy, outcomes):
    users = busy["users"].set_index("user_id").loc[outcomes.index]
    start = np.maximum(users["join_day"].to_numpy(), 0)
    churn = users["churn_day"].to_numpy()
    for k in RETENTION_DAYS:
        column = outcomes[f"retained_d{k}"].to_numpy()
        observable = start + k <= DAYS - 1
        assert (np.isnan(column) == ~observable).all()
        expected = (churn < 0) | (churn > start + k)
        assert (column[observable] == expected[observable]).all()
    d30, d90 = outcomes["retained_d30"], outcomes["retained_d90"]
    both = d30.notna() & d90.notna()
    assert both.sum() > 1_000
    assert (d90[both] <= d30[both]).all()
    d1, d7 = outcomes["retained_d1"], outcomes["retained_d7"]
    assert (d7[d7.notna()] <= d1[d7.notna()]).all()  # observable at 7 ⇒ observable at 1
    assert d90.isna().any() and (d90[both] == 0).any()


def test_discounting_at_zero_is_undiscounted_and_positive_rates_shrink(busy, outcomes):
    money = ["revenue", "cost", "net_value"]
    for column in money:
        assert (outcomes[f"{column}_discounted"] == outcomes[column]).all()
    low, high = user_outcomes(busy, DAYS, 0.05), user_outcomes(busy, DAYS, 0.5)
    for column in ("revenue", "cost"):
        assert (low[f"{column}_discounted"] <= outcomes[column] + 1e-12).all()
        assert (high[f"{column}_discounted"] <= low[f"{column}_discounted"] + 1e-12).all()
        assert high[f"{column}_discounted"].sum() < outcomes[column].sum()


def _tiny_tables(horizon: int, joins, churns, costs, purchases, daily_cost) -> dict:
    """A hand-made run: users with given join/churn days and costs, purchases (user, day, ¥)."""
    n = len(joins)
    users = pd.DataFrame(
        {
            "user_id": np.arange(100, 100 + n, dtype=np.int64),
            "join_day": np.asarray(joins, np.int32),
            "channel": pd.Categorical(["ads"] * n),
            "assigned": np.zeros(n, bool),
            "arrival_group": np.full(n, -1, np.int32),
            "initial_stage": pd.Categorical(["new"] * n),
            "initial_quadrant": pd.Categorical(["q"] * n),
            "occupation": pd.Categorical(["x"] * n),
            "revenue": np.zeros(n),
            "cost_money": np.asarray(costs, float),
            "purchases": np.zeros(n, np.int32),
            "churn_day": np.asarray(churns, np.int32),
            "reached_days": np.zeros(n, np.int32),
            "open_days": np.zeros(n, np.int32),
            "offer_open_days": np.zeros(n, np.int32),
        }
    )
    p = pd.DataFrame(purchases, columns=["user_id", "day", "price_paid"])
    for uid, price in p.groupby("user_id")["price_paid"].sum().items():
        users.loc[users["user_id"] == uid, "revenue"] = price
    users["purchases"] = users["user_id"].map(p["user_id"].value_counts()).fillna(0).astype(int)
    daily = pd.DataFrame({"day": np.arange(horizon), "cost_money": np.asarray(daily_cost, float)})
    return {"users": users, "purchases": p, "daily": daily}


def test_discounting_known_case():
    """A ¥110 purchase a year in at 10% a year is worth ¥100 on day 0; all cost on one day is
    discounted by that day's factor."""
    horizon = 400
    daily_cost = np.zeros(horizon)
    daily_cost[365] = 8.0
    daily_cost[0] = 2.0
    tables = _tiny_tables(
        horizon,
        joins=[-5, 300, 0],
        churns=[-1, -1, 10],
        costs=[3.0, 5.0, 2.0],
        purchases=[(100, 365, 110.0), (101, 0, 50.0), (102, 0, 7.0)],
        daily_cost=daily_cost,
    )
    out = user_outcomes(tables, horizon, annual_discount_rate=0.10)
    assert out.loc[100, "revenue_discounted"] == pytest.approx(100.0)
    assert out.loc[101, "revenue_discounted"] == pytest.approx(50.0)
    # user 101 (days 300..399) only saw world cost on day 365: the whole cost is on that day
    assert out.loc[101, "cost_discounted"] == pytest.approx(5.0 / 1.1)
    # user 102 (days 0..10) only saw world cost on day 0: not discounted
    assert out.loc[102, "cost_discounted"] == pytest.approx(2.0)
    # user 100 (days 0..399): cost split 2:8 between day 0 and day 365
    assert out.loc[100, "cost_discounted"] == pytest.approx(3.0 * (0.2 + 0.8 / 1.1))
    curve = ltv_curve(tables, horizon, annual_discount_rate=0.10)
    assert curve["net_discounted"].iloc[-1] == pytest.approx(out["net_value_discounted"].mean())
    assert curve["net"].iloc[364] == pytest.approx((50 + 7 - 2.0 - 3.0 * 0.2) / 3)


def test_cost_spread_uniformly_when_the_world_spent_nothing_in_the_window():
    horizon = 30
    tables = _tiny_tables(horizon, [0], [9], [10.0], [], np.zeros(horizon))
    curve = ltv_curve(tables, horizon)
    np.testing.assert_allclose(np.diff(curve["net"].to_numpy())[:9], -1.0)
    assert curve["net"].iloc[-1] == pytest.approx(-10.0)


def test_discounting_needs_the_purchases_table(busy):
    tables = {k: v for k, v in busy.items() if k != "purchases"}
    assert (user_outcomes(tables, DAYS)["revenue_discounted"] >= 0).all()
    with pytest.raises(ValueError, match="purchases"):
        user_outcomes(tables, DAYS, annual_discount_rate=0.1)
    with pytest.raises(ValueError, match="purchases"):
        ltv_curve(tables, DAYS)


def test_bad_inputs_are_named(busy):
    with pytest.raises(ValueError, match="horizon=90 but the 'daily' table covers 120"):
        user_outcomes(busy, 90)
    with pytest.raises(ValueError, match="horizon must be"):
        user_outcomes(busy, 0)
    with pytest.raises(ValueError, match="annual_discount_rate"):
        user_outcomes(busy, DAYS, annual_discount_rate="ten")
    broken = dict(busy, users=busy["users"].drop(columns=["offer_open_days"]))
    with pytest.raises(ValueError, match="offer_open_days"):
        user_outcomes(broken, DAYS)


# --------------------------------------------------------------------------- per run


def test_run_metrics_are_means_with_a_stable_order(busy, outcomes):
    metrics = run_metrics(outcomes)
    assert list(metrics) == list(METRICS)
    users = busy["users"]
    assert metrics["revenue_per_user"] == pytest.approx(users["revenue"].mean())
    assert metrics["cost_per_user"] == pytest.approx(users["cost_money"].mean())
    assert metrics["paying_share"] == pytest.approx((users["purchases"] > 0).mean())
    assert metrics["pay_share"] == metrics["paying_share"]
    assert metrics["mean_duration"] == pytest.approx(users["duration"].mean())
    assert all(0.0 <= metrics[f"retention_d{k}"] <= 1.0 for k in RETENTION_DAYS)
    assert metrics["retention_d1"] >= metrics["retention_d90"]


def test_run_metrics_retention_agrees_with_the_run_summary(busy, outcomes):
    arrivals = _arrival_ids(outcomes)
    metrics = run_metrics(outcomes, arrivals)
    for k in (30, 90):
        expected, n = arrival_retention(busy["users"], DAYS, k)
        assert n > 0
        assert metrics[f"retention_d{k}"] == pytest.approx(expected)


def test_user_selection_by_ids_or_mask(outcomes):
    arrivals = _arrival_ids(outcomes)
    mask = (outcomes["join_day"] >= 0).to_numpy()
    by_ids = run_metrics(outcomes, arrivals)
    assert by_ids == run_metrics(outcomes, mask)
    assert by_ids == run_metrics(outcomes, np.concatenate([arrivals, arrivals[:10]]))
    assert by_ids != run_metrics(outcomes)
    with pytest.raises(ValueError, match="not in the users table"):
        run_metrics(outcomes, [-12345])
    empty = run_metrics(outcomes, np.zeros(len(outcomes), bool))
    assert all(math.isnan(v) for v in empty.values())


def test_segment_metrics_partition_the_users(outcomes):
    overall = run_metrics(outcomes)
    for segment in SEGMENTS:
        table = segment_metrics(outcomes, segment)
        assert table["n_users"].sum() == len(outcomes)
        assert table[segment].is_unique and (table["n_users"] > 0).all()
        weighted = (table["revenue_per_user"] * table["n_users"]).sum() / len(outcomes)
        assert weighted == pytest.approx(overall["revenue_per_user"])
        assert list(table.columns) == [segment, "n_users", *METRICS]
    arrivals = _arrival_ids(outcomes)
    assert segment_metrics(outcomes, "channel", arrivals)["n_users"].sum() == len(arrivals)
    with pytest.raises(ValueError, match="nope"):
        segment_metrics(outcomes, "nope")


def test_world_metrics_count_the_whole_world(busy):
    world = world_metrics(busy, DAYS)
    users, daily = busy["users"], busy["daily"]
    assert world["total_revenue"] == pytest.approx(users["revenue"].sum())
    assert world["total_cost"] == pytest.approx(users["cost_money"].sum())
    assert world["users_registered"] == len(users)
    referred = ((users["channel"] == "referral") & (users["join_day"] >= 0)).sum()
    assert world["referred_arrivals"] == referred
    assert world["group_leaves_per_month"] == pytest.approx(daily["group_leaves"].sum() * 30 / DAYS)
    assert world["groups_alive_end"] == daily.sort_values("day")["groups_alive"].iloc[-1]
    assert 0.0 <= world["group_speaking_rate_last30"] <= 1.0
    assert 0.0 <= world["group_death_share_90d"] <= 1.0
    no_groups = {k: v for k, v in busy.items() if k != "groups"}
    assert math.isnan(world_metrics(no_groups, DAYS)["group_death_share_90d"])


def test_roi():
    assert roi(150.0, 100.0) == pytest.approx(0.5)
    assert roi(50.0, 100.0) == pytest.approx(-0.5)
    assert math.isnan(roi(10.0, 0.0))


# --------------------------------------------------------------------------- curves


def test_retention_curve_never_rises(outcomes):
    for ids in (None, _arrival_ids(outcomes)):
        curve = retention_curve(outcomes, DAYS, user_ids=ids)
        assert list(curve["day"]) == list(range(1, DAYS))
        retained = curve["retained"].to_numpy()
        assert np.all(np.diff(retained) <= 1e-15)
        assert retained.min() >= 0.0 and retained.max() <= 1.0
        assert (curve["at_risk"] <= curve["observable"]).all()
        assert np.all(np.diff(curve["observable"]) <= 0)


def test_retention_curve_of_one_cohort_is_the_plain_share(outcomes):
    base = outcomes[outcomes["join_day"] < 0]
    curve = retention_curve(base, DAYS, days=range(DAYS))
    k, share = share_retained_curve(base["start_day"].to_numpy(), base["duration"].to_numpy(), DAYS)
    np.testing.assert_allclose(curve["retained"].to_numpy()[k], share)
    assert curve.loc[curve["day"] == 30, "retained"].item() == pytest.approx(
        run_metrics(base)["retention_d30"]
    )


def test_weekly_retention_is_the_curve_at_whole_weeks(outcomes):
    weekly = weekly_retention(outcomes, DAYS)
    assert list(weekly["week"]) == list(range(1, (DAYS - 1) // 7 + 1))
    assert (weekly["day"] == 7 * weekly["week"]).all()
    daily = retention_curve(outcomes, DAYS).set_index("day")
    np.testing.assert_allclose(weekly["retained"], daily.loc[weekly["day"], "retained"])


def test_ltv_curve_ends_at_the_set_means(busy, outcomes):
    discounted = user_outcomes(busy, DAYS, annual_discount_rate=0.2)
    for ids in (None, _arrival_ids(outcomes)):
        curve = ltv_curve(busy, DAYS, user_ids=ids, annual_discount_rate=0.2)
        chosen = discounted if ids is None else discounted.loc[ids]
        last = curve.iloc[-1]
        assert list(curve["day"]) == list(range(DAYS))
        assert np.all(np.diff(curve["gross"]) >= 0)
        assert last["gross"] == pytest.approx(chosen["revenue"].mean())
        assert last["net"] == pytest.approx(chosen["net_value"].mean())
        assert last["gross_discounted"] == pytest.approx(chosen["revenue_discounted"].mean())
        assert last["net_discounted"] == pytest.approx(chosen["net_value_discounted"].mean())
        assert (curve["gross_discounted"] <= curve["gross"] + 1e-9).all()


def test_funnel_counts(outcomes, worlds):
    table = funnel(outcomes)
    assert list(table["step"]) == ["reach", "open", "click", "pay"]
    users = table.set_index("step")["users"]
    assert users["reach"] >= users["open"] >= users["click"]
    assert users["pay"] == outcomes["paid"].sum()
    assert np.all(np.diff(table["through_all_steps"]) <= 0)
    np.testing.assert_allclose(table["share_of_population"], table["users"] / len(outcomes))
    # with no operations nobody is reached, yet users buy: pay is not a subset of reach
    idle = funnel(user_outcomes(worlds["none"], DAYS)).set_index("step")
    assert idle.loc["reach", "users"] == 0 and idle.loc["pay", "users"] > 0
    assert idle.loc["pay", "through_all_steps"] == 0
    assert math.isnan(idle.loc["open", "share_of_previous"])


def test_roi_on_a_cost_that_rounds_to_nothing_is_undefined():
    assert math.isnan(roi(0.13, 0.0001))
    assert roi(0.13, 0.01) == pytest.approx(12.0)
