"""One run's tables reduced to the figures the laws compare (:func:`run_metrics`).

Each figure is computed by a pure function of :mod:`sim.analysis.law_measures` (or
:mod:`sim.analysis.measures`); a figure the tables cannot give is stored as the
:class:`~sim.analysis.law_measures.MissingData` that says why, so one missing column makes only
the laws that need it not measurable. The result is small (numbers and short arrays), so runs
can be simulated in worker processes and only their metrics sent back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from sim.analysis import calendar_measures as cm
from sim.analysis import law_measures as lm
from sim.analysis.measures import Snapshot, group_death_share

Tables = Mapping[str, pd.DataFrame]

DRIVE_ARRIVAL_DAYS = (1, 22)
"""Days a 21-day referral drive started on day 0 brings friends in (they join the day after)."""


def run_metrics(tables: Tables, snapshot: Snapshot, products: tuple[str, ...]) -> dict[str, Any]:
    """Every figure the laws read from one run, by name (see the module docstring)."""
    entry = products[0]
    step = products[1] if len(products) > 1 else None
    figures: dict[str, Callable[[], Any]] = {
        "net_value_per_user": lambda: lm.net_value_per_user(tables),
        "revenue_per_user": lambda: lm.revenue_per_user(tables),
        "paying_share": lambda: lm.paying_share(tables),
        "active_share": lambda: lm.active_share_of_reachable(tables),
        "open_rate": lambda: lm.content_open_rate(tables),
        "above_entry_share": lambda: lm.above_entry_share(tables, entry),
        "tercile_revenue": lambda: tuple(
            float(x) for x in lm.revenue_by_income_tercile(lm.require(tables, "users"))
        ),
        "units_sold": lambda: {p: lm.units_sold(tables, p) for p in products},
        "step_up": lambda: _step_up(tables, entry, step),
        "newcomer_revenue_share": lambda: lm.newcomer_revenue_share(tables),
        "group_death": lambda: _group_death(tables),
        "group_speaking_rate": lambda: _group_speaking_rate(tables),
        "member_retention": lambda: _member_retention(tables),
        "retention": lambda: lm.retention_share(tables),
        "exit_ratio": lambda: lm.silent_active_exit_ratio(tables, snapshot),
        "recall_events": lambda: lm.recall_events(tables),
        "active_after_deletion": lambda: lm.active_after_deletion(tables),
        # calendar, timing and referral (issue 15, sim.laws.timing)
        "promo_open_rate": lambda: cm.promo_open_rate(tables),
        "coupon_redemption": lambda: cm.coupon_redemption(tables),
        "daily_purchases": lambda: cm.daily_purchases(tables),
        "drive_referrals": lambda: cm.referred_per_inviter(tables, *DRIVE_ARRIVAL_DAYS),
        "net_value_total": lambda: cm.net_value_total(tables),
    }
    return {name: _safely(compute) for name, compute in figures.items()}


def _step_up(tables: Tables, entry: str, step: str | None) -> dict[str, float]:
    if step is None:
        raise lm.MissingData("a second product on the ladder (world.products)")
    return lm.step_up_conversion(tables, entry, step)


def _group_death(tables: Tables) -> dict[str, float]:
    lm.require(tables, "groups", ["group_id", "day", "alive"])
    return group_death_share(tables)


def _group_speaking_rate(tables: Tables) -> float:
    """Speakers per group member, averaged over the run's days (days with no group member
    count as 0, as the daily table reports them)."""
    daily = lm.require(tables, "daily", ["group_speaking_rate"])
    return float(daily["group_speaking_rate"].mean())


def _member_retention(tables: Tables) -> float:
    """:func:`~sim.analysis.law_measures.retention_share` among the ordinary (not disruptive)
    users who joined a group on arrival (MissingData if none did)."""
    users = lm.require(tables, "users", ["arrival_group", "disruptive"])
    members = users[(users["arrival_group"] >= 0) & ~users["disruptive"].astype(bool)]
    if members.empty:
        raise lm.MissingData("users who joined a group on arrival")
    return lm.retention_share({"users": members})


def _safely(compute: Callable[[], Any]) -> Any:
    """The figure, or the MissingData (a too-short run counts as missing data) explaining why."""
    try:
        return compute()
    except lm.MissingData as exc:
        return exc
    except ValueError as exc:
        return lm.MissingData(str(exc))
