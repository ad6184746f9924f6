"""Direction of effects: each lever is compared with a matched run (same seed, same world) and
summed over several seeds, so a direction is the model's, not luck. No result value is fixed; only
which way an outcome moves.
"""

from __future__ import annotations

import pytest

from sim.world.actions import Operations
from sim.world.params import DEFAULT_LADDER
from strategies.base import Strategy
from strategies.params import param

SEEDS = (11, 12, 13)


class CouponForAll(Strategy):
    """Test-only: a coupon of ``discount`` for every reachable user on day 0."""

    name = "coupon_for_all"

    discount: float = param(0.5, "share off the list price", low=0.0, high=1.0)
    valid_days: int = param(30, "days the coupon is valid", low=1)

    def on_day(self, ops: Operations) -> None:
        if ops.day == 0:
            ops.give_coupon(ops.reachable(), self.discount, self.valid_days)


def ladder(**prices: float) -> dict:
    """The default product ladder with some list prices changed (reference prices kept)."""
    products = [p.model_dump() for p in DEFAULT_LADDER]
    for p in products:
        p["price"] = prices.get(p["name"], p["price"])
    return {"products": products}


@pytest.fixture(scope="module")
def arm(make_config, run_world, make_blanket):
    """``arm(name)`` -> list of tables, one per seed; runs are cached per module."""
    arms = {
        "none": ({}, lambda: []),
        "blanket": ({}, lambda: [make_blanket()]),
        "promos_8": ({}, lambda: [make_blanket(promos_per_day=8.0)]),
        "camp_cheap": ({"world": ladder(camp=4.9)}, lambda: []),
        "course_cheap": ({"world": ladder(course=1499.0)}, lambda: []),
        "coupon": ({}, lambda: [CouponForAll()]),
    }
    cache: dict[str, list] = {}

    def get(name: str) -> list:
        if name not in cache:
            extra, strategies = arms[name]
            cache[name] = [run_world(make_config(seed=s, **extra), strategies()) for s in SEEDS]
        return cache[name]

    return get


def total(runs: list, column: str, table: str = "daily", days: int | None = None) -> float:
    frames = [t[table] if days is None else t[table][t[table]["day"] < days] for t in runs]
    return float(sum(f[column].sum() for f in frames))


def mean(runs: list, column: str) -> float:
    return sum(t["daily"][column].mean() for t in runs) / len(runs)


def bought(runs: list, product: str) -> int:
    return sum(int((t["purchases"]["product"] == product).sum()) for t in runs)


def test_more_pushes_more_fatigue_mutes_and_group_leaves(arm):
    dose = [arm("none"), arm("blanket"), arm("promos_8")]  # 0, 1, 8 promos a day
    fatigue = [mean(r, "fatigue_mean") for r in dose]
    mutes = [total(r, "mutes") for r in dose]
    leaves = [total(r, "group_leaves") for r in dose]
    trust = [mean(r, "trust_mean") for r in dose]
    assert fatigue[0] < fatigue[1] < fatigue[2]
    assert mutes[0] < mutes[1] < mutes[2]
    assert leaves[0] < leaves[1] < leaves[2]
    assert trust[0] > trust[1] > trust[2]


def test_heavy_pushing_drives_users_away(arm):
    """8 promos a day ([003] group A): more users block the account than with no pushes."""
    assert total(arm("promos_8"), "churned_today") > total(arm("none"), "churned_today")
    assert total(arm("promos_8"), "purchases") < total(arm("blanket"), "purchases")


def test_cheaper_camp_sells_more_camps(arm):
    assert bought(arm("camp_cheap"), "camp") > bought(arm("none"), "camp")


def test_cheaper_course_sells_more_courses(arm):
    assert bought(arm("course_cheap"), "course") > bought(arm("none"), "course")


def test_coupon_for_all_sells_more_and_records_discounts(arm):
    coupon, none = arm("coupon"), arm("none")
    assert total(coupon, "purchases", days=30) > total(none, "purchases", days=30)
    assert total(none, "discount") == 0
    assert total(coupon, "discount") > 0
    for t in coupon:
        p, users = t["purchases"], t["users"].set_index("user_id")
        used = p[p["discount"] > 0]
        assert len(used) > 0
        assert (used["discount"] / (used["price_paid"] + used["discount"])).round(6).eq(0.5).all()
        assert used["day"].max() < 30  # valid days 0..29
        assert used["user_id"].is_unique  # a coupon is used once
        assert (users.loc[used["user_id"], "join_day"] <= 0).all()  # only day-0 users had one
        assert t["costs"]["action"].eq("give_coupon").all()
        assert t["costs"]["day"].eq(0).all()


def test_blanket_versus_none(arm):
    """The documented contrast: blanket messages cost money, tire and annoy users and erode
    trust, but opened promos lift purchases in the first weeks."""
    none, blanket = arm("none"), arm("blanket")
    assert total(none, "messages_promo") == 0 and total(none, "cost_money") == 0
    assert total(blanket, "messages_promo") > 0 and total(blanket, "cost_money") > 0
    assert mean(blanket, "fatigue_mean") > mean(none, "fatigue_mean")
    assert total(blanket, "mutes") > total(none, "mutes")
    assert total(blanket, "group_leaves") > total(none, "group_leaves")
    assert mean(blanket, "trust_mean") < mean(none, "trust_mean")
    assert total(blanket, "purchases", days=21) > total(none, "purchases", days=21)
    assert total(blanket, "opened") > total(none, "opened")


def test_churn_rises_with_message_load_above_comfort(arm):
    """MODEL.md §9: one promo a day is at the comfort level, so blocking already adds deletions;
    eight a day delete far more."""
    none, one, eight = (total(arm(k), "churned_today") for k in ("none", "blanket", "promos_8"))
    assert eight > 1.5 * one
    assert one > none
