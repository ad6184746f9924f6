"""Numbers in a config or an action's parameters are finite, not booleans, and in range."""

from __future__ import annotations

import pytest

from sim.config import MAX_USERS, parse_config
from sim.errors import ConfigError
from sim.world.params import MAX_MAGNITUDE

BASE = {"name": "q", "days": 20, "population": {"initial_users": 100}}


def config(**extra) -> dict:
    data = {**BASE, **extra}
    return data


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"world": {"behaviour": {"active_intercept": float("nan")}}}, "active_intercept"),
        ({"world": {"costs": {"message": float("inf")}}}, "costs.message"),
        (
            {
                "population": {
                    "initial_users": 100,
                    "initial_channel_shares": {"organic": float("nan")},
                }
            },
            "initial_channel_shares.organic",
        ),
        (
            {"population": {"initial_users": 100, "arrivals_per_day": {"ads": float("inf")}}},
            "arrivals_per_day",
        ),
    ],
)
def test_nan_and_inf_are_refused_naming_the_field(extra, field):
    with pytest.raises(ConfigError, match=f"{field}.*finite number"):
        parse_config(config(**extra), "x.yaml")


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"days": True}, "days"),
        ({"population": {"initial_users": False}}, "initial_users"),
        ({"world": {"behaviour": {"trust_decay": True}}}, "trust_decay"),
        (
            {"population": {"initial_users": 10, "city_tier_shares": [True, 1, 1, 1]}},
            "city_tier_shares",
        ),
    ],
)
def test_booleans_are_not_numbers(extra, field):
    with pytest.raises(ConfigError, match=f"{field}.*expected a number, got the boolean"):
        parse_config(config(**extra), "x.yaml")


def test_unbounded_numbers_are_capped():
    extra = {"world": {"behaviour": {"active_intercept": MAX_MAGNITUDE * 10}}}
    with pytest.raises(ConfigError, match="active_intercept.*between"):
        parse_config(config(**extra), "x.yaml")


@pytest.mark.parametrize("rate", [1e12, "1.0e12", 1e8])
def test_arrivals_that_would_not_fit_in_memory_are_refused_naming_the_limit(rate):
    extra = {"population": {"initial_users": 100, "arrivals_per_day": {"organic": rate}}}
    with pytest.raises(ConfigError, match="arrivals_per_day"):
        parse_config(config(**extra), "x.yaml")


def test_the_user_limit_is_named():
    extra = {
        "days": 3650,
        "population": {"initial_users": 100, "arrivals_per_day": {"ads": 50_000}},
    }
    with pytest.raises(ConfigError, match=f"at most {MAX_USERS:,}"):
        parse_config(config(**extra), "x.yaml")


def rule(action: str, **params) -> dict:
    return {"name": "r", "do": {"action": action, "params": params}}


@pytest.mark.parametrize(
    "action, params, wrong",
    [
        ("give_coupon", {"discount": 5, "valid_days": 7}, "discount"),
        ("give_coupon", {"discount": 0.5, "valid_days": 0}, "valid_days"),
        ("give_coupon", {"discount": float("nan"), "valid_days": 7}, "discount"),
        ("give_coupon", {"discount": 0.5, "valid_days": True}, "valid_days"),
        ("send_promo", {"count": 0}, "count"),
        ("contact_1v1", {"minutes": -1}, "minutes"),
        ("push_content", {"tier": "basic"}, "tier"),
        ("reward", {"points": -1}, "points"),
        ("reward", {}, "positive points or gift"),
    ],
)
def test_a_rules_action_parameters_are_checked_at_load(action, params, wrong):
    with pytest.raises(ConfigError, match=f"rules.0.do.*{wrong}"):
        parse_config(config(rules=[rule(action, **params)]), "x.yaml")


def test_valid_action_parameters_pass():
    rules = [rule("give_coupon", discount=0.5, valid_days=7)]
    assert parse_config(config(rules=rules), "x.yaml").rules[0].do.params["discount"] == 0.5
