"""Money adds up: revenue, discounts and costs agree between the daily, users, purchases and
costs tables, every price paid is the list price less the coupon, and doing nothing costs nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.world.actions import ACTION_COLUMNS


def by_day(frame, column, days):
    return frame.groupby("day")[column].sum().reindex(days, fill_value=0).to_numpy()


def by_user(frame, column, user_ids):
    return frame.groupby("user_id")[column].sum().reindex(user_ids, fill_value=0).to_numpy()


def test_revenue_is_the_sum_of_prices_paid(any_run):
    _, t = any_run
    daily, users, purchases = t["daily"], t["users"], t["purchases"]
    assert len(purchases) > 0
    np.testing.assert_allclose(by_day(purchases, "price_paid", daily["day"]), daily["revenue"])
    np.testing.assert_allclose(
        by_user(purchases, "price_paid", users["user_id"]), users["revenue"], atol=1e-9
    )
    assert users["revenue"].sum() == pytest.approx(daily["revenue"].sum(), rel=1e-12)
    assert (purchases.groupby("day").size().reindex(daily["day"], fill_value=0)
            == daily["purchases"].to_numpy()).all()  # fmt: skip
    counts = purchases.groupby("user_id").size().reindex(users["user_id"], fill_value=0)
    assert (counts.to_numpy() == users["purchases"]).all()


def test_discounts_add_up(any_run):
    _, t = any_run
    daily, users, purchases = t["daily"], t["users"], t["purchases"]
    np.testing.assert_allclose(by_day(purchases, "discount", daily["day"]), daily["discount"])
    np.testing.assert_allclose(
        by_user(purchases, "discount", users["user_id"]), users["discount"], atol=1e-9
    )
    assert (purchases["discount"] >= 0).all()
    assert (purchases["price_paid"] > 0).all()


def test_price_paid_is_list_price_less_coupon(any_run):
    config, t = any_run
    purchases = t["purchases"]
    list_price = purchases["product"].map({p.name: p.price for p in config.world.products})
    list_price = list_price.astype(float)
    np.testing.assert_allclose(purchases["price_paid"] + purchases["discount"], list_price)
    share = purchases["discount"] / list_price
    assert ((share >= 0) & (share < 1)).all()


def test_busy_run_buys_with_coupons(runs):
    """The busy policy hands out 30% coupons: some purchases use them, at exactly 30% off."""
    _, t = runs["busy"]
    purchases = t["purchases"]
    used = purchases[purchases["discount"] > 0]
    assert len(used) > 0
    list_price = used["price_paid"] + used["discount"]
    np.testing.assert_allclose(used["discount"] / list_price, 0.3, rtol=1e-6)


def test_costs_add_up(any_run):
    _, t = any_run
    daily, users, costs = t["daily"], t["users"], t["costs"]
    for column in ("cost_money", "operator_hours"):
        np.testing.assert_allclose(by_day(costs, column, daily["day"]), daily[column], atol=1e-9)
        assert users[column].sum() == pytest.approx(daily[column].sum(), rel=1e-5, abs=1e-9)
    for action, column in ACTION_COLUMNS.items():
        units = by_day(costs[costs["action"] == action], "units", daily["day"])
        assert (units == daily[column]).all(), action
    np.testing.assert_allclose(users["net_value"], users["revenue"] - users["cost_money"])


def test_busy_run_spends_on_every_action(runs):
    config, t = runs["busy"]
    costs = t["costs"]
    assert set(costs["action"]) == set(ACTION_COLUMNS)
    assert set(costs["strategy"]) == {"busy"}
    assert t["daily"]["cost_money"].sum() > 0
    assert t["daily"]["operator_hours"].sum() > 0
    c = config.world.costs
    unit_price = {
        "push_content": c.message,
        "send_promo": c.message,
        "give_coupon": c.coupon_issue,
        "contact_1v1": c.contact_minutes / 60 * c.operator_hourly,
        "reward": 1.0 + 10 * c.point_value,
        "invite_to_group": 0.0,
        "remove_from_group": 0.0,
        "referral_incentive": 0.0,  # offering is free; the strategy books the rewards it pays
    }
    assert set(unit_price) == set(ACTION_COLUMNS), "price every action the busy policy takes"
    expected = costs["units"] * costs["action"].map(unit_price).astype(float)
    np.testing.assert_allclose(costs["cost_money"], expected)
    hours = np.where(costs["action"] == "contact_1v1", costs["users"] * c.contact_minutes / 60, 0)
    np.testing.assert_allclose(costs["operator_hours"], hours)


def test_no_operations_cost_nothing(runs):
    _, t = runs["none"]
    daily, users, costs = t["daily"], t["users"], t["costs"]
    assert costs.empty
    assert (daily[["cost_money", "operator_hours", *ACTION_COLUMNS.values()]] == 0).all().all()
    assert (users["cost_money"] == 0).all()
    assert (users["operator_hours"] == 0).all()
    assert (users["discount"] == 0).all()


def test_cost_per_user_and_strategy_adds_up(any_run):
    """user_costs splits every yuan and operator hour by user and by strategy."""
    _, t = any_run
    user_costs, costs, users = t["user_costs"], t["costs"], t["users"]
    per_strategy = user_costs.groupby("strategy")[["cost_money", "operator_hours"]].sum()
    booked = costs.groupby("strategy")[["cost_money", "operator_hours"]].sum()
    booked = booked[(booked["cost_money"] > 0) | (booked["operator_hours"] > 0)]
    pd.testing.assert_frame_equal(per_strategy.sort_index(), booked.sort_index(), rtol=1e-9)
    per_user = user_costs.groupby("user_id")["cost_money"].sum()
    spent = users.set_index("user_id")["cost_money"]
    np.testing.assert_allclose(per_user.to_numpy(), spent.loc[per_user.index].to_numpy())
    assert spent.drop(per_user.index).eq(0).all()
