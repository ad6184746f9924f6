"""Measurements behind the behavioural laws (docs/LAWS.md): pure functions over one run's tables.

Every function reads the tables of :mod:`sim.engine.tables` (plus ``lapses`` once the model
writes it) and returns a number or a small array. A table or column a measurement needs but the
run lacks raises :class:`MissingData` naming it, so a caller can report the law as *not
measurable* instead of inventing a value.

Conventions: *users* are the registered users of the run (the ``users`` table: the initial base
and every arrival); money is the run's own (``users.revenue``, ``users.cost_money``); a
*newcomer* has ``join_day >= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.analysis.measures import (
    ACTIVE_MAX_SILENCE,
    CHURN_WINDOW_DAYS,
    SILENT_MIN_DAYS,
    Snapshot,
    reachable_by_day,
    silent_vs_active,
)
from sim.world import lifecycle as lc

Tables = Mapping[str, pd.DataFrame]
FUNNEL_WINDOW_DAYS = 60
"""Days after the first entry-product purchase in which a step up counts (law 5)."""


class MissingData(LookupError):
    """The run tables lack a table or column a measurement needs (the message names it)."""


def require(tables: Tables, table: str, columns: Sequence[str] = ()) -> pd.DataFrame:
    """``tables[table]`` with ``columns`` present, or :class:`MissingData` naming what lacks."""
    frame = tables.get(table)
    if frame is None:
        raise MissingData(f"table {table}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingData(", ".join(f"{table}.{c}" for c in missing))
    return frame


def horizon(tables: Tables) -> int:
    """Days simulated (the ``daily`` table has one row per day)."""
    return int(require(tables, "daily", ["day"])["day"].max()) + 1


# --------------------------------------------------------------------------- money


def net_value_per_user(tables: Tables) -> float:
    """(revenue − strategy cost) / registered users, over the run."""
    u = require(tables, "users", ["revenue", "cost_money"])
    return float((u["revenue"] - u["cost_money"]).sum()) / len(u) if len(u) else math.nan


def revenue_per_user(tables: Tables) -> float:
    """Revenue / registered users, over the run."""
    u = require(tables, "users", ["revenue"])
    return float(u["revenue"].sum()) / len(u) if len(u) else math.nan


def paying_share(tables: Tables) -> float:
    """Share of registered users who bought anything during the run (conversion)."""
    u = require(tables, "users", ["purchases"])
    return float((u["purchases"] > 0).mean()) if len(u) else math.nan


def revenue_by_income_tercile(users: pd.DataFrame) -> np.ndarray:
    """Mean run revenue per user in each third of users ranked by income (poorest first).

    Terciles are of the rank (ties broken by order), so each holds a third of the users even
    when incomes repeat.
    """
    if "income" not in users or "revenue" not in users:
        raise MissingData("users.income, users.revenue")
    if len(users) < 3:
        return np.full(3, np.nan)
    rank = users["income"].rank(method="first").to_numpy()
    tercile = np.minimum((3 * (rank - 1) // len(users)).astype(np.int64), 2)
    revenue = users["revenue"].to_numpy(np.float64)
    return np.bincount(tercile, revenue, 3) / np.bincount(tercile, minlength=3)


def units_sold(tables: Tables, product: str) -> int:
    """Purchases of ``product`` during the run."""
    p = require(tables, "purchases", ["product"])
    return int((p["product"].astype(str) == product).sum())


def above_entry_share(tables: Tables, entry: str) -> float:
    """Share of registered users who bought a product other than ``entry`` during the run."""
    u = require(tables, "users", ["user_id"])
    p = require(tables, "purchases", ["user_id", "product"])
    buyers = p.loc[p["product"].astype(str) != entry, "user_id"].nunique()
    return buyers / len(u) if len(u) else math.nan


def step_up_conversion(
    tables: Tables, entry: str, step: str, window_days: int = FUNNEL_WINDOW_DAYS
) -> dict[str, float]:
    """Newcomers who buy ``entry`` and then ``step`` within ``window_days`` (law 5, the funnel).

    Cohort: newcomers (``join_day >= 0``) whose first ``entry`` purchase of the run falls on a
    day c with c + ``window_days`` ≤ the horizon (observed for the whole window). Converted: a
    ``step`` purchase on a day in [c, c + ``window_days``). Returns ``rate`` and cohort size ``n``.
    """
    u = require(tables, "users", ["user_id", "join_day"])
    p = require(tables, "purchases", ["user_id", "day", "product"])
    days = horizon(tables)
    newcomers = u.loc[u["join_day"] >= 0, "user_id"]
    mine = p[p["user_id"].isin(newcomers)]
    product = mine["product"].astype(str)
    first_entry = mine[product == entry].groupby("user_id")["day"].min()
    cohort = first_entry[first_entry + window_days <= days]
    if cohort.empty:
        return {"rate": math.nan, "n": 0}
    steps = mine[(product == step) & mine["user_id"].isin(cohort.index)]
    lag = steps["day"].to_numpy() - cohort.reindex(steps["user_id"]).to_numpy()
    converted = steps.loc[(lag >= 0) & (lag < window_days), "user_id"].nunique()
    return {"rate": converted / len(cohort), "n": int(len(cohort))}


def newcomer_revenue_share(tables: Tables) -> float:
    """Share of the run's revenue paid by newcomers (users who arrived during the run)."""
    u = require(tables, "users", ["join_day", "revenue"])
    total = float(u["revenue"].sum())
    return float(u.loc[u["join_day"] >= 0, "revenue"].sum()) / total if total else math.nan


# --------------------------------------------------------------------------- engagement


def reachable_per_day(tables: Tables) -> pd.Series:
    """Users not deleted at the end of each day: ``daily.reachable``, or the stage counts.

    Both count the same users (every stage but ``churned``); the stage counts serve runs written
    before the ``reachable`` column existed.
    """
    daily = require(tables, "daily", ["day"])
    if "reachable" in daily:
        return daily["reachable"]
    if not any(c.startswith("stage_") for c in daily.columns):
        raise MissingData("daily.reachable")
    return reachable_by_day(daily)


def active_share_of_reachable(tables: Tables) -> float:
    """Mean over days of (users active that day) / (users reachable at the end of the day)."""
    active = require(tables, "daily", ["active"])["active"].to_numpy(np.float64)
    reachable = reachable_per_day(tables).to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(reachable > 0, active / reachable, np.nan)
    return float(np.nanmean(share)) if np.isfinite(share).any() else math.nan


def content_open_rate(tables: Tables) -> float:
    """Users who opened pushed content / users delivered pushed content, summed over days.

    NaN when the run pushed no content (nothing to open).
    """
    d = require(tables, "daily", ["content_reached", "content_opened"])
    reached = float(d["content_reached"].sum())
    return float(d["content_opened"].sum()) / reached if reached else math.nan


# --------------------------------------------------------------------------- disengagement


def retention_share(tables: Tables) -> float:
    """Share of registered users still reachable (not deleted) and not lapsed at the end."""
    u = require(tables, "users", ["churn_day", "lapsed"])
    kept = (u["churn_day"] < 0) & ~u["lapsed"].astype(bool)
    return float(kept.mean()) if len(u) else math.nan


def lapsed_at(lapses: pd.DataFrame, day: int) -> pd.Index:
    """Users whose latest lapse/recall event on or before ``day`` is a lapse (lapsed then)."""
    past = lapses[lapses["day"] <= day].sort_values(["user_id", "day"], kind="stable")
    last = past.groupby("user_id")["event"].last()
    return last.index[last.astype(str) == "lapse"]


def silent_active_exit_ratio(
    tables: Tables,
    snapshot: Snapshot,
    window_days: int = CHURN_WINDOW_DAYS,
    silent_min_days: int = SILENT_MIN_DAYS,
    active_max_silence: int = ACTIVE_MAX_SILENCE,
) -> dict[str, float]:
    """[003] disengagement of users silent two weeks vs active ones ("5× the rate"), on lapses.

    Cohort: users reachable and not lapsed at the end of snapshot day D. *Silent*: D −
    last_active ≥ ``silent_min_days``; *active*: D − last_active ≤ ``active_max_silence``.
    A user *exits* if they lapse (a ``lapse`` event in ``lapses``) or are deleted
    (``users.churn_day``) on a day D+1 … D+``window_days``. Returns both exit rates, the
    ratio silent/active and the group sizes.
    """
    lapses = require(tables, "lapses", ["user_id", "day", "event"])
    users = require(tables, "users", ["user_id", "churn_day"])[["user_id", "churn_day"]]
    d = snapshot.day
    if horizon(tables) <= d + window_days:
        raise ValueError(f"the run must cover days up to {d + window_days}")
    s = snapshot.users[snapshot.users["reachable"]]
    s = s[~s["user_id"].isin(lapsed_at(lapses, d))].merge(users, on="user_id", how="left")
    in_window = lapses[(lapses["day"] > d) & (lapses["day"] <= d + window_days)]
    lapsed = s["user_id"].isin(in_window.loc[in_window["event"].astype(str) == "lapse", "user_id"])
    deleted = (s["churn_day"] > d) & (s["churn_day"] <= d + window_days)
    exited = (lapsed | deleted).to_numpy()
    silence = lc.days_since(s["last_active"].to_numpy(), d)
    return silent_vs_active(exited, silence, silent_min_days, active_max_silence)


def recall_events(tables: Tables) -> int:
    """Recalls of lapsed users (``recall`` rows of ``lapses``)."""
    lapses = require(tables, "lapses", ["event"])
    return int((lapses["event"].astype(str) == "recall").sum())


def active_after_deletion(tables: Tables) -> int:
    """Deleted users with any sign of life after their deletion day (should be 0).

    Signs of life: a purchase, a stage change out of ``churned``, or (when the run has a
    ``lapses`` table) a lapse or recall event on a day after ``users.churn_day``.
    """
    u = require(tables, "users", ["user_id", "churn_day"])
    gone = u.loc[u["churn_day"] >= 0, ["user_id", "churn_day"]]
    events = [
        require(tables, "purchases", ["user_id", "day"])[["user_id", "day"]],
        require(tables, "transitions", ["user_id", "day", "from_stage"])
        .loc[lambda t: t["from_stage"].astype(str) == "churned", ["user_id", "day"]],
    ]  # fmt: skip
    if "lapses" in tables:
        events.append(require(tables, "lapses", ["user_id", "day"])[["user_id", "day"]])
    later = pd.concat(events, ignore_index=True).merge(gone, on="user_id")
    return int(later.loc[later["day"] > later["churn_day"], "user_id"].nunique())
