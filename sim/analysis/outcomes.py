"""Outcomes of a run: one row per user, the per-run metrics an experiment compares, and curves.

:func:`user_outcomes` turns the run tables (:mod:`sim.engine.tables`) into one row per registered
user:
money (gross, net of the money spent on the user, and discounted), purchases, churn and the
survival duration, retention at :data:`RETENTION_DAYS` and the exposure funnel flags.
:func:`run_metrics` and :func:`segment_metrics` average those rows over a set of users (an arm,
a segment); :func:`world_metrics` measures what belongs to the whole world (total money,
referred arrivals, group health). :func:`retention_curve`, :func:`weekly_retention`,
:func:`ltv_curve` and :func:`funnel` give the curves and the funnel of a set of users;
:func:`roi` is the return on the incremental cost of an arm.

Conventions
-----------
* Days are counted from a user's *observation start* ``max(join_day, 0)``: the initial base
  (``join_day < 0``) is observed from day 0, arrivals from the day they arrive.
* A user is *retained k days after joining* if not churned by then (``churn_day`` is -1 or
  later than start + k). That is *observable* only when start + k is a simulated day
  (start + k <= horizon - 1); otherwise the retention column is NaN.
* Discounting is daily from day 0 at an annual rate r: money on day d is worth
  ``(1 + r) ** (-d / 365)`` (day 0 is not discounted).
* Costs are recorded per user (``users.cost_money``, the run total) and per day for the whole
  world (``daily.cost_money``), but not per user per day. A user's cost is therefore placed on
  the days the user was observed (start … churn day, or the last day) in proportion to the
  world's daily cost on those days (uniformly over those days if the world spent nothing then).
  Discounted costs (:func:`user_outcomes`) and the daily net curve (:func:`ltv_curve`) use the
  same allocation, so they agree.

Everything is vectorised (numpy bincount / cumulative sums, pandas group-bys): a million users
take seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.analysis.curves import observed_durations
from sim.analysis.measures import group_death_share
from sim.analysis.summary import horizon_of

Tables = Mapping[str, pd.DataFrame]
UserIds = Sequence[int] | np.ndarray | pd.Series | pd.Index | None

RETENTION_DAYS = (1, 7, 30, 90)
"""Days after joining at which :func:`user_outcomes` records retention."""

SEGMENTS = ("initial_stage", "initial_quadrant", "channel", "occupation")
"""User attributes fixed at arrival, by which :func:`segment_metrics` splits a set of users."""

DAYS_PER_YEAR = 365.0
"""Days in a year for the daily discount factor."""

FUNNEL_STEPS = (("reach", "reached"), ("open", "opened"), ("click", "clicked"), ("pay", "paid"))
"""The funnel steps of :func:`funnel` and the outcome column that marks each."""

METRICS: dict[str, str] = {
    "revenue_per_user": "revenue",
    "cost_per_user": "cost",
    "net_value_per_user": "net_value",
    "discounted_net_value_per_user": "net_value_discounted",
    "purchases_per_user": "purchases",
    "paying_share": "paid",
    "churned_share": "churned",
    **{f"retention_d{k}": f"retained_d{k}" for k in RETENTION_DAYS},
    "reach_share": "reached",
    "open_share": "opened",
    "click_share": "clicked",
    "pay_share": "paid",
    "mean_duration": "duration",
}
"""The metrics of :func:`run_metrics` (in their order) and the outcome column each averages."""

USERS_COLUMNS = (
    "user_id", "join_day", "channel", "assigned", "arrival_group", "initial_stage",
    "initial_quadrant", "occupation", "revenue", "cost_money", "purchases", "churn_day",
    "reached_days", "open_days", "offer_open_days",
)  # fmt: skip
PURCHASES_COLUMNS = ("user_id", "day", "price_paid")
DAILY_COST_COLUMNS = ("day", "cost_money")
WORLD_DAILY_COLUMNS = (
    "day", "revenue", "cost_money", "arrivals", "arrivals_referred", "users_registered",
    "groups_alive", "group_members", "group_speaking_rate", "group_leaves",
)  # fmt: skip
SPEAKING_WINDOW_DAYS = 30
DAYS_PER_MONTH = 30.0
_COST_TOLERANCE = 1e-12  # relative: a world cost below this share of the total counts as none


# --------------------------------------------------------------------------- input checks


def _table(tables: Tables, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """The table ``name`` with ``columns`` present, or a ValueError naming what is missing."""
    if name not in tables or tables[name] is None:
        raise ValueError(f"the run tables have no {name!r} table (have: {sorted(tables)})")
    frame = tables[name]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {missing}")
    return frame


def _is_number(x: object) -> bool:
    return isinstance(x, int | np.integer | float | np.floating) and not isinstance(x, bool)


def _is_whole(x: object) -> bool:
    return _is_number(x) and float(x).is_integer()


def _check_horizon(tables: Tables, horizon: int) -> int:
    """``horizon`` as an int: positive and, when a ``daily`` table exists, its number of days."""
    if not _is_whole(horizon) or horizon < 1:
        raise ValueError(f"horizon must be a positive whole number of days, got {horizon!r}")
    horizon = int(horizon)
    daily = tables.get("daily")
    if daily is not None and len(daily) and horizon_of(daily) != horizon:
        raise ValueError(
            f"horizon={horizon} but the 'daily' table covers {horizon_of(daily)} days; "
            "pass the run's number of days"
        )
    return horizon


def _check_rate(annual_discount_rate: float) -> float:
    rate = float(annual_discount_rate) if _is_number(annual_discount_rate) else np.nan
    if not np.isfinite(rate) or rate <= -1.0:
        raise ValueError(
            f"annual_discount_rate must be a number > -1 (0.1 = 10% a year), "
            f"got {annual_discount_rate!r}"
        )
    return rate


def _check_user_days(users: pd.DataFrame, horizon: int) -> None:
    """Join and churn days must lie inside the run and churn must not precede the start."""
    join = users["join_day"].to_numpy(np.int64)
    churn = users["churn_day"].to_numpy(np.int64)
    checks = (
        (join > horizon - 1, f"join_day after the last day {horizon - 1}"),
        (churn > horizon - 1, f"churn_day after the last day {horizon - 1}"),
        ((churn >= 0) & (churn < np.maximum(join, 0)), "churn_day before the user's start"),
        (churn < -1, "churn_day below -1 (-1 means not churned)"),
    )
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"table 'users': {int(bad.sum())} row(s) with {what} "
                f"(first: row {row}, user_id {int(users['user_id'].iloc[row])})"
            )


def _user_index(ids: np.ndarray) -> pd.Index:
    index = pd.Index(ids, name="user_id")
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ValueError(f"table 'users': user_id {int(dup)} appears more than once")
    return index


def _selection(index: pd.Index, user_ids: UserIds) -> np.ndarray:
    """Boolean mask over ``index`` of the chosen users (all when ``user_ids`` is None).

    ``user_ids`` is either ids (duplicates ignored; an unknown id is an error) or a boolean mask
    of the same length as ``index``.
    """
    if user_ids is None:
        return np.ones(len(index), bool)
    values = np.asarray(user_ids)
    if values.dtype == np.bool_:
        if values.shape != (len(index),):
            raise ValueError(
                f"a boolean user selection must have one entry per user ({len(index)}), "
                f"got shape {values.shape}"
            )
        return values
    wanted = pd.Index(values).unique()
    mask = index.isin(wanted)
    if int(mask.sum()) != len(wanted):
        unknown = wanted[~wanted.isin(index)]
        raise ValueError(f"{len(unknown)} user id(s) not in the users table, e.g. {unknown[0]!r}")
    return mask


# --------------------------------------------------------------------------- money over days


def discount_factors(horizon: int, annual_discount_rate: float) -> np.ndarray:
    """Per-day discount factors ``(1 + r) ** (-day / 365)`` for days 0 … horizon - 1."""
    days = np.arange(horizon, dtype=float)
    return (1.0 + _check_rate(annual_discount_rate)) ** (-days / DAYS_PER_YEAR)


def _observation_end(churn_day: np.ndarray, horizon: int) -> np.ndarray:
    """Last observed day of each user: the churn day, or the run's last day."""
    return np.where(churn_day >= 0, churn_day, horizon - 1).astype(np.int64)


def _world_daily_cost(tables: Tables, horizon: int) -> np.ndarray:
    """The world's money cost per day (zeros when there is no ``daily`` table)."""
    daily = tables.get("daily")
    if daily is None or len(daily) == 0:
        return np.zeros(horizon)
    daily = _table(tables, "daily", DAILY_COST_COLUMNS)
    day = daily["day"].to_numpy(np.int64)
    return np.bincount(day, weights=daily["cost_money"].to_numpy(float), minlength=horizon)


def _cost_weights(
    world_cost: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(world cost over each user's window, whether the cost allocation uses it).

    Users whose window saw (almost) no world cost are spread uniformly over the window instead.
    """
    cum = np.concatenate([[0.0], np.cumsum(world_cost)])
    window_cost = cum[end + 1] - cum[start]
    proportional = window_cost > _COST_TOLERANCE * max(cum[-1], 1.0)
    return window_cost, proportional


def _cost_discount_factor(
    world_cost: np.ndarray, factors: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Mean discount factor of each user's cost under the allocation of the module docstring."""
    window_cost, proportional = _cost_weights(world_cost, start, end)
    weighted = np.concatenate([[0.0], np.cumsum(world_cost * factors)])
    plain = np.concatenate([[0.0], np.cumsum(factors)])
    uniform = (plain[end + 1] - plain[start]) / (end + 1 - start)
    out = uniform.copy()
    out[proportional] = (weighted[end + 1] - weighted[start])[proportional] / window_cost[
        proportional
    ]
    return out


def _allocated_daily_cost(
    world_cost: np.ndarray, cost: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Total cost of the given users per day, each user's cost spread as in the docstring."""
    horizon = len(world_cost)
    window_cost, proportional = _cost_weights(world_cost, start, end)
    share = np.where(proportional, cost / np.where(proportional, window_cost, 1.0), 0.0)
    flat = np.where(proportional, 0.0, cost / (end + 1 - start))

    def spread(weights: np.ndarray) -> np.ndarray:
        diff = np.bincount(start, weights, minlength=horizon + 1) - np.bincount(
            end + 1, weights, minlength=horizon + 1
        )
        return np.cumsum(diff)[:horizon]

    return world_cost * spread(share) + spread(flat)


def _purchases(tables: Tables, index: pd.Index, horizon: int, why: str) -> tuple[np.ndarray, ...]:
    """(user row, day, price) of every purchase; a clear error if the table is missing/bad."""
    if tables.get("purchases") is None:
        raise ValueError(
            f"the run tables have no 'purchases' table, needed {why} "
            "(run with output.purchases: true)"
        )
    p = _table(tables, "purchases", PURCHASES_COLUMNS)
    rows = index.get_indexer(p["user_id"].to_numpy(np.int64))
    day = p["day"].to_numpy(np.int64)
    if (rows < 0).any():
        bad = int(np.flatnonzero(rows < 0)[0])
        raise ValueError(
            f"table 'purchases': {int((rows < 0).sum())} row(s) for users not in 'users' "
            f"(first: row {bad}, user_id {int(p['user_id'].iloc[bad])})"
        )
    if len(day) and (day.min() < 0 or day.max() > horizon - 1):
        raise ValueError(f"table 'purchases': day outside 0 … {horizon - 1}")
    return rows, day, p["price_paid"].to_numpy(float)


def _discounted_revenue(
    tables: Tables, index: pd.Index, revenue: np.ndarray, factors: np.ndarray
) -> np.ndarray:
    """Each user's revenue with every purchase discounted to day 0 (revenue itself at rate 0)."""
    if np.all(factors == 1.0):
        return revenue.copy()
    rows, day, price = _purchases(tables, index, len(factors), "to discount revenue")
    return np.bincount(rows, weights=price * factors[day], minlength=len(index))


# --------------------------------------------------------------------------- per user


def _retention_columns(start: np.ndarray, duration: np.ndarray, horizon: int) -> dict:
    out = {}
    for k in RETENTION_DAYS:
        observable = start + k <= horizon - 1
        out[f"retained_d{k}"] = np.where(observable, (duration > k).astype(float), np.nan)
    return out


def user_outcomes(tables: Tables, horizon: int, annual_discount_rate: float = 0.0) -> pd.DataFrame:
    """One row per registered user (index ``user_id``) with what the run did for them.

    Parameters
    ----------
    tables
        The run tables (``users``; ``purchases`` when ``annual_discount_rate`` is not 0;
        ``daily`` for the cost allocation, optional).
    horizon
        The run's number of days (must match the ``daily`` table when there is one).
    annual_discount_rate
        r in ``(1 + r) ** (-day / 365)``: purchases are discounted on their day; a user's cost
        is discounted pro rata, placed on the user's observed days in proportion to the world's
        daily cost (there is no per-user per-day cost; see the module docstring).

    Returns
    -------
    DataFrame
        join_day, start_day (= max(join_day, 0)), referred (channel is referral), assigned,
        arrival_group, the :data:`SEGMENTS` columns, revenue, cost (money), net_value (revenue −
        cost), revenue_discounted, cost_discounted, net_value_discounted, purchases, paid
        (purchases > 0), churned, duration (days from start_day to the churn day, or to the
        horizon) and event (churned; for survival), ``retained_d{k}`` for k in
        :data:`RETENTION_DAYS` (1.0/0.0, NaN where start_day + k is after the last day),
        reached / opened / clicked (reached, opened anything, opened an offer on at least one
        day).
    """
    horizon = _check_horizon(tables, horizon)
    rate = _check_rate(annual_discount_rate)
    users = _table(tables, "users", USERS_COLUMNS)
    _check_user_days(users, horizon)
    index = _user_index(users["user_id"].to_numpy(np.int64))
    churn_day = users["churn_day"].to_numpy(np.int64)
    start, duration = observed_durations(users, horizon)
    end = _observation_end(churn_day, horizon)
    factors = discount_factors(horizon, rate)
    revenue = users["revenue"].to_numpy(float)
    cost = users["cost_money"].to_numpy(float)
    revenue_disc = _discounted_revenue(tables, index, revenue, factors)
    if rate == 0.0:
        cost_disc = cost.copy()
    else:
        world_cost = _world_daily_cost(tables, horizon)
        cost_disc = cost * _cost_discount_factor(world_cost, factors, start, end)
    purchases = users["purchases"].to_numpy(np.int64)
    churned = churn_day >= 0
    columns = {
        "join_day": users["join_day"].to_numpy(np.int64),
        "start_day": start,
        "referred": (users["channel"] == "referral").to_numpy(bool),
        "assigned": users["assigned"].to_numpy(bool),
        "arrival_group": users["arrival_group"].to_numpy(np.int64),
        **{s: users[s].values for s in SEGMENTS},  # categoricals stay categorical
        "revenue": revenue,
        "cost": cost,
        "net_value": revenue - cost,
        "revenue_discounted": revenue_disc,
        "cost_discounted": cost_disc,
        "net_value_discounted": revenue_disc - cost_disc,
        "purchases": purchases,
        "paid": purchases > 0,
        "churned": churned,
        "duration": duration.astype(np.int64),
        "event": churned.copy(),
        **_retention_columns(start, duration, horizon),
        "reached": users["reached_days"].to_numpy() > 0,
        "opened": users["open_days"].to_numpy() > 0,
        "clicked": users["offer_open_days"].to_numpy() > 0,
    }
    return pd.DataFrame(columns, index=index)


# --------------------------------------------------------------------------- per run


def _check_outcomes(outcomes: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in outcomes.columns]
    if missing:
        raise ValueError(f"outcomes lack column(s) {missing}; build them with user_outcomes()")


def _chosen(outcomes: pd.DataFrame, user_ids: UserIds) -> pd.DataFrame:
    if user_ids is None:
        return outcomes
    return outcomes[_selection(outcomes.index, user_ids)]


def run_metrics(outcomes: pd.DataFrame, user_ids: UserIds = None) -> dict[str, float]:
    """Per-user means over a set of users: the metrics an arm is compared on.

    Parameters
    ----------
    outcomes
        :func:`user_outcomes`.
    user_ids
        The users (ids, or a boolean mask over the rows); all when None.

    Returns
    -------
    dict
        The keys of :data:`METRICS`, in that order. Each is the mean of its outcome column over
        the users; retention means skip the users for whom it is not observable (NaN when nobody
        is). ``pay_share`` (the funnel's last step) equals ``paying_share``. All NaN for an empty
        set.
    """
    _check_outcomes(outcomes, list(dict.fromkeys(METRICS.values())))
    chosen = _chosen(outcomes, user_ids)
    means = chosen[list(dict.fromkeys(METRICS.values()))].astype(float).mean()
    return {metric: float(means[column]) for metric, column in METRICS.items()}


def segment_metrics(outcomes: pd.DataFrame, by: str, user_ids: UserIds = None) -> pd.DataFrame:
    """:func:`run_metrics` for each value of the outcome column ``by`` (e.g. a :data:`SEGMENTS`).

    One row per value present among the users (sorted): ``by``, ``n_users``, then the metrics.
    """
    _check_outcomes(outcomes, [by, *dict.fromkeys(METRICS.values())])
    chosen = _chosen(outcomes, user_ids)
    columns = list(dict.fromkeys(METRICS.values()))
    grouped = chosen[columns].astype(float).groupby(chosen[by], observed=True, sort=True)
    means = grouped.mean()
    out = pd.DataFrame({"n_users": grouped.size().astype(np.int64)})
    for metric, column in METRICS.items():
        out[metric] = means[column]
    return out.reset_index()


def world_metrics(tables: Tables, horizon: int) -> dict[str, float]:
    """What is measured on the whole world rather than per user.

    Returns
    -------
    dict
        total_revenue (all purchases, referred arrivals included), total_cost (all money booked),
        total_net_value, users_registered (users at the end), arrivals and referred_arrivals
        (over the run), groups_alive_end, group_members_end, group_speaking_rate_last30 (mean of
        the daily speaking rate over the last 30 days on which a group was alive; NaN if none),
        group_death_share_90d (:func:`sim.analysis.measures.group_death_share`: share of the groups
        observed
        for 90 days that died within them; NaN without a ``groups`` table or such groups),
        group_leaves_per_month (members leaving a group per 30 days).
    """
    horizon = _check_horizon(tables, horizon)
    daily = _table(tables, "daily", WORLD_DAILY_COLUMNS).sort_values("day")
    if len(daily) == 0:
        raise ValueError("table 'daily' is empty")
    last = daily.iloc[-1]
    recent = daily[(daily["day"] >= horizon - SPEAKING_WINDOW_DAYS) & (daily["groups_alive"] > 0)]
    revenue, cost = float(daily["revenue"].sum()), float(daily["cost_money"].sum())
    death = np.nan
    if tables.get("groups") is not None and len(tables["groups"]):
        death = group_death_share(tables)["share"]
    return {
        "total_revenue": revenue,
        "total_cost": cost,
        "total_net_value": revenue - cost,
        "users_registered": float(last["users_registered"]),
        "arrivals": float(daily["arrivals"].sum()),
        "referred_arrivals": float(daily["arrivals_referred"].sum()),
        "groups_alive_end": float(last["groups_alive"]),
        "group_members_end": float(last["group_members"]),
        "group_speaking_rate_last30": float(recent["group_speaking_rate"].mean())
        if len(recent)
        else np.nan,
        "group_death_share_90d": float(death),
        "group_leaves_per_month": float(daily["group_leaves"].sum()) * DAYS_PER_MONTH / horizon,
    }


# Below half a fen per user an extra cost prints as ¥0.00: a return on it would be a ratio to
# rounding noise (a pruning arm's ¥0.0001 gave "+98,321%").
MIN_ROI_COST_PER_USER = 0.005


def roi(incremental_revenue: float, incremental_cost: float) -> float:
    """Return on the incremental cost per user: (Δ revenue − Δ cost) / Δ cost.

    NaN when the arm costs less than half a fen per user more than its control: a ratio to
    zero, to a saving or to rounding noise has no meaningful sign or size. 0 means the arm paid
    back exactly its extra cost.
    """
    if not incremental_cost >= MIN_ROI_COST_PER_USER:
        return float("nan")
    return (float(incremental_revenue) - float(incremental_cost)) / float(incremental_cost)


# --------------------------------------------------------------------------- curves


def _check_days(days: Sequence[int] | np.ndarray | None, horizon: int) -> np.ndarray:
    if days is None:
        return np.arange(1, horizon, dtype=np.int64)
    out = np.asarray(days)
    if out.ndim != 1 or not np.all(np.equal(np.mod(out, 1), 0)):
        raise ValueError(f"days must be a list of whole numbers of days, got {days!r}")
    out = out.astype(np.int64)
    if len(out) and (out.min() < 0 or out.max() > horizon - 1):
        raise ValueError(f"days must lie in 0 … {horizon - 1} (horizon {horizon}), got {days!r}")
    return out


def _reverse_cumsum(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x[::-1])[::-1]


def retention_curve(
    outcomes: pd.DataFrame,
    horizon: int,
    days: Sequence[int] | None = None,
    user_ids: UserIds = None,
) -> pd.DataFrame:
    """Share of a set of users still not churned k days after joining, for each k in ``days``.

    Users join on different days, so each is counted only while observable (start + k within
    the run): the curve is the product-limit (Kaplan–Meier) estimate over days since joining,

    .. math:: R(k) = \\prod_{j=0}^{k} \\left(1 - \\frac{c_j}{n_j}\\right),

    with :math:`c_j` the users churning j days after their start and :math:`n_j` the users at
    risk: not churned before j and observable at j. It never increases, and for a cohort that
    started on one day it equals the plain share not churned (the mean of ``retained_dk``).

    Returns
    -------
    DataFrame
        day (days since joining; default 1 … horizon − 1), retained, at_risk (:math:`n_k`),
        observable (users with start + k in the run). ``retained`` is NaN once nobody is at
        risk.
    """
    horizon = int(horizon)
    days = _check_days(days, horizon)
    _check_outcomes(outcomes, ["start_day", "duration", "churned"])
    chosen = _chosen(outcomes, user_ids)
    start = chosen["start_day"].to_numpy(np.int64)
    duration = chosen["duration"].to_numpy(np.int64)
    churned = chosen["churned"].to_numpy(bool)
    last_k = horizon - 1 - start
    if len(start) and (last_k.min() < 0 or duration[churned].max(initial=0) > horizon - 1):
        raise ValueError(f"outcomes do not fit horizon {horizon}; was it the same horizon?")
    churns = np.bincount(duration[churned], minlength=horizon)[:horizon]
    censored = np.bincount(last_k[~churned], minlength=horizon)[:horizon]
    at_risk = _reverse_cumsum(churns) + _reverse_cumsum(censored)
    observable = _reverse_cumsum(np.bincount(last_k, minlength=horizon)[:horizon])
    hazard = np.full(horizon, np.nan)
    np.divide(churns, at_risk, out=hazard, where=at_risk > 0)
    retained = np.cumprod(1.0 - hazard)
    return pd.DataFrame(
        {
            "day": days,
            "retained": retained[days],
            "at_risk": at_risk[days].astype(np.int64),
            "observable": observable[days].astype(np.int64),
        }
    )


def weekly_retention(
    outcomes: pd.DataFrame, horizon: int, user_ids: UserIds = None
) -> pd.DataFrame:
    """:func:`retention_curve` at whole weeks: week w = day 7w, for every week inside the run."""
    weeks = np.arange(1, (int(horizon) - 1) // 7 + 1, dtype=np.int64)
    curve = retention_curve(outcomes, horizon, days=7 * weeks, user_ids=user_ids)
    curve.insert(0, "week", weeks)
    return curve


def ltv_curve(
    tables: Tables,
    horizon: int,
    user_ids: UserIds = None,
    annual_discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Mean cumulative value per user of a set of users, by calendar day 0 … horizon − 1.

    The divisor is every user of the set (including those who have not arrived yet), so the
    gross curve ends at the set's mean revenue. Purchases count on their day (``purchases``
    table). Costs are not recorded per user per day: each user's total cost is spread over the
    user's observed days in proportion to the world's daily cost (``daily.cost_money``), see the
    module docstring; the curve therefore ends at the set's mean net value, and the discounted
    curves end at the means of :func:`user_outcomes`' discounted columns.

    Returns
    -------
    DataFrame
        day, gross, net, gross_discounted, net_discounted (¥ per user, cumulative). NaN for an
        empty set.
    """
    horizon = _check_horizon(tables, horizon)
    factors = discount_factors(horizon, annual_discount_rate)
    users = _table(tables, "users", ("user_id", "join_day", "churn_day", "cost_money"))
    _check_user_days(users, horizon)
    index = _user_index(users["user_id"].to_numpy(np.int64))
    chosen = _selection(index, user_ids)
    rows, day, price = _purchases(tables, index, horizon, "for the lifetime-value curve")
    in_set = chosen[rows]
    gross = np.bincount(day[in_set], weights=price[in_set], minlength=horizon)
    start, _ = observed_durations(users, horizon)
    end = _observation_end(users["churn_day"].to_numpy(np.int64), horizon)
    cost = _allocated_daily_cost(
        _world_daily_cost(tables, horizon),
        users["cost_money"].to_numpy(float)[chosen],
        start[chosen],
        end[chosen],
    )
    n = float(chosen.sum()) or np.nan
    return pd.DataFrame(
        {
            "day": np.arange(horizon, dtype=np.int64),
            "gross": np.cumsum(gross) / n,
            "net": np.cumsum(gross - cost) / n,
            "gross_discounted": np.cumsum(gross * factors) / n,
            "net_discounted": np.cumsum((gross - cost) * factors) / n,
        }
    )


def funnel(outcomes: pd.DataFrame, user_ids: UserIds = None) -> pd.DataFrame:
    """The exposure funnel of a set of users: reach → open → click → pay.

    *reach*: reached by any action on at least one day; *open*: opened something pushed
    (a subset of reach); *click*: opened an offer, i.e. a promotion (a subset of open); *pay*:
    bought at least once during the run. Payers are **not** a subset of the earlier steps: a
    user can buy without being reached (organic purchases), so ``users`` and
    ``share_of_previous`` may rise at *pay*. ``through_all_steps`` counts the users who passed
    this step and every earlier one, which never rises.

    Returns
    -------
    DataFrame
        step, users, share_of_population, share_of_previous (users / previous step's users;
        NaN for the first step or after an empty step), through_all_steps.
    """
    _check_outcomes(outcomes, [column for _, column in FUNNEL_STEPS])
    chosen = _chosen(outcomes, user_ids)
    n = len(chosen)
    users, through = [], []
    passed = np.ones(n, bool)
    for _, column in FUNNEL_STEPS:
        flag = chosen[column].to_numpy(bool)
        passed &= flag
        users.append(int(flag.sum()))
        through.append(int(passed.sum()))
    counts = np.array(users, dtype=float)
    previous = np.concatenate([[np.nan], counts[:-1]])
    share_previous = np.full(len(counts), np.nan)
    np.divide(counts, previous, out=share_previous, where=previous > 0)
    return pd.DataFrame(
        {
            "step": [step for step, _ in FUNNEL_STEPS],
            "users": np.array(users, dtype=np.int64),
            "share_of_population": counts / n if n else np.full(len(counts), np.nan),
            "share_of_previous": share_previous,
            "through_all_steps": np.array(through, dtype=np.int64),
        }
    )
