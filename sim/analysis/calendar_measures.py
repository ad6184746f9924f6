"""Measures of calendar, timing and referral effects on one run's tables (issue 15; the laws of
:mod:`sim.laws.timing` read them). Pure functions; a missing column raises
:class:`~sim.analysis.law_measures.MissingData` naming it."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.analysis.law_measures import MissingData, require

Tables = Mapping[str, pd.DataFrame]


def promo_open_rate(tables: Tables) -> float:
    """Users who opened a promotion / users who received one, pooled over days (NaN if none)."""
    daily = require(tables, "daily", ["promo_reached", "promo_opened"])
    reached = float(daily["promo_reached"].sum())
    return float(daily["promo_opened"].sum()) / reached if reached else math.nan


def coupon_redemption(tables: Tables) -> float:
    """Purchases made with a discount / coupons issued (NaN if none was issued)."""
    daily = require(tables, "daily", ["coupons_issued"])
    buys = require(tables, "purchases", ["discount"])
    issued = float(daily["coupons_issued"].sum())
    return float((buys["discount"] > 0).sum()) / issued if issued else math.nan


def daily_purchases(tables: Tables) -> tuple[float, ...]:
    """Purchases on each simulated day."""
    daily = require(tables, "daily", ["purchases"])
    return tuple(float(x) for x in daily["purchases"])


def referred_per_inviter(tables: Tables, first_day: int, last_day: int) -> dict[str, float]:
    """Friends who joined through referral on days ``first_day``..``last_day`` per distinct
    inviter among those who brought at least one (``per_inviter``), and the counts."""
    users = require(tables, "users", ["referrer_id", "join_day"])
    joined = users["join_day"].between(first_day, last_day) & (users["referrer_id"] >= 0)
    friends = users.loc[joined, "referrer_id"]
    inviters = int(friends.nunique())
    if not inviters:
        raise MissingData(f"referred arrivals on days {first_day}-{last_day}")
    return {"per_inviter": len(friends) / inviters, "friends": float(len(friends)),
            "inviters": float(inviters)}  # fmt: skip


def net_value_total(tables: Tables) -> float:
    """Revenue − operating cost over every registered user (referred friends included), ¥."""
    users = require(tables, "users", ["revenue", "cost_money"])
    return float(np.sum(users["revenue"]) - np.sum(users["cost_money"]))
