"""Measurements of the stylised facts (docs/FACTS.md) on a run's tables: group exits in a
window, monthly conversion, silent-vs-active churn ratio, first-purchase conversion, group
lifetimes and deaths. Pure functions over tables; :mod:`sim.runs.facts` replays the arms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.world import lifecycle as lc

Tables = Mapping[str, pd.DataFrame]
EXIT_WINDOW_DAYS = 30
CONVERSION_WINDOW_DAYS = 30
SILENT_MIN_DAYS = 14
ACTIVE_MAX_SILENCE = 6  # active in the last 7 days: active on one of days D-6 … D
CHURN_WINDOW_DAYS = 30
GROUP_LIFE_DAYS = 90


@dataclass
class Snapshot:
    """Per-user state at the end of day ``day`` of a run (taken in-process)."""

    day: int
    users: pd.DataFrame  # user_id, last_active, reachable


def group_exit_rate(tables: Tables, window_days: int = EXIT_WINDOW_DAYS) -> float:
    """[003] monthly group exit rate, as the A/B test reports it ("42% of members left").

    Share of the members of the groups alive at day 0 who left their group within
    ``window_days`` days: the ``leaves`` of those groups over days 0 … ``window_days`` − 1,
    divided by their members at the start of day 0 (the day-0 row's size + leaves − joins).
    Leaves include members who left the private domain altogether (churners leave their group);
    members dispersed by a group's death are not leaves. Newcomers who join one of these groups
    during the month (only the newest, not yet full group takes them) are counted if they leave
    but not in the denominator — a small upward bias.
    """
    g = tables["groups"]
    if (g["day"] < window_days).sum() == 0 or g["day"].max() < window_days - 1:
        raise ValueError(f"the run must cover days 0 … {window_days - 1}")
    day0 = g[g["day"] == 0]
    start_size = day0["size"] + day0["leaves"] - day0["joins"]
    ids = day0.loc[start_size > 0, "group_id"]
    members = int(start_size[start_size > 0].sum())
    window = g[(g["day"] < window_days) & g["group_id"].isin(ids)]
    return float(window["leaves"].sum()) / members if members else math.nan


def reachable_by_day(daily: pd.DataFrame) -> pd.Series:
    """Reachable (not churned) users at the end of each day, from the ``daily`` stage counts."""
    stages = [f"stage_{s}" for s in lc.STAGES if s != "churned" and f"stage_{s}" in daily]
    return daily[stages].sum(axis=1)


def monthly_conversion(tables: Tables, window_days: int = CONVERSION_WINDOW_DAYS) -> float:
    """[003] conversion over the A/B month: purchases per reachable user.

    All purchases on days 0 … ``window_days`` − 1 divided by the mean number of reachable users
    over those days (``daily`` stage counts). The article's "conversion rose to 29%" does not say
    what it divides by; this is the simplest reading (purchases per user per month).
    """
    d = tables["daily"]
    d = d[d["day"] < window_days]
    return float(d["purchases"].sum()) / float(reachable_by_day(d).mean())


def silent_active_churn_ratio(
    tables: Tables,
    snapshot: Snapshot,
    window_days: int = CHURN_WINDOW_DAYS,
    silent_min_days: int = SILENT_MIN_DAYS,
    active_max_silence: int = ACTIVE_MAX_SILENCE,
) -> dict[str, float]:
    """[003] churn of users silent two weeks vs active users ("5× the rate").

    Among users reachable at the end of snapshot day D: *silent* = no activity for at least
    ``silent_min_days`` days (D − last_active ≥ 14), *active* = active in the last 7 days
    (D − last_active ≤ 6). Each group's churn rate is the share that left the private domain on
    days D+1 … D+``window_days`` (``users.churn_day``). Returns both rates, the ratio
    silent/active and the group sizes.
    """
    d = snapshot.day
    users = tables["users"][["user_id", "churn_day"]]
    if int(tables["daily"]["day"].max()) < d + window_days:
        raise ValueError(f"the run must cover days up to {d + window_days}")
    s = snapshot.users[snapshot.users["reachable"]].merge(users, on="user_id", how="left")
    silence = lc.days_since(s["last_active"].to_numpy(), d)
    churned = ((s["churn_day"] > d) & (s["churn_day"] <= d + window_days)).to_numpy()
    return silent_vs_active(churned, silence, silent_min_days, active_max_silence)


def silent_vs_active(
    exited: np.ndarray, silence: np.ndarray, silent_min_days: int, active_max_silence: int
) -> dict[str, float]:
    """Exit rates of the silent (``silence >= silent_min_days``) and the active (``silence <=
    active_max_silence``) users of a cohort, their ratio and the group sizes (a rate is NaN for
    an empty group)."""
    silent = silence >= silent_min_days
    active = silence <= active_max_silence
    rate_silent = float(exited[silent].mean()) if silent.any() else math.nan
    rate_active = float(exited[active].mean()) if active.any() else math.nan
    return {
        "rate_silent": rate_silent,
        "rate_active": rate_active,
        "ratio": rate_silent / rate_active if rate_active > 0 else math.inf,
        "n_silent": int(silent.sum()),
        "n_active": int(active.sum()),
    }


def first_purchase_conversion(tables: Tables, within_days: int = CONVERSION_WINDOW_DAYS) -> float:
    """[001] conversion to the first paid product within ``within_days`` days of arrival.

    Cohort: users who arrived during the run through an exogenous channel (not referred, so the
    cohort is the same users in every arm) on a day 0 … last day − ``within_days`` + 1, so every
    one is observed for the full window. Converted: their first purchase of the run (the first
    ladder step, the ¥9.9 camp, for a newcomer) falls on days join … join + ``within_days`` − 1.
    """
    u = tables["users"]
    last_day = int(tables["daily"]["day"].max())
    cohort = (
        (u["join_day"] >= 0)
        & (u["join_day"] <= last_day - within_days + 1)
        & (u["channel"] != "referral")
    )
    c = u[cohort]
    if c.empty:
        return math.nan
    fp = c["first_purchase_day"]
    converted = (fp >= 0) & (fp - c["join_day"] < within_days)
    return float(converted.mean())


def group_lifetimes(tables: Tables) -> pd.DataFrame:
    """One row per group: born (first row's day), death day (−1 if alive at the end), lifetime."""
    g = tables["groups"]
    first = g.groupby("group_id")["day"].min().rename("first_day")
    dead = g[~g["alive"]].groupby("group_id")["day"].min().rename("death_day")
    out = pd.concat([first, dead], axis=1)
    out["death_day"] = out["death_day"].fillna(-1).astype(np.int64)
    return out.reset_index()


def group_death_share(tables: Tables, life_days: int = GROUP_LIFE_DAYS) -> dict[str, float]:
    """[003] share of chat groups that live less than ``life_days`` (90) days.

    Groups observed for the full ``life_days`` (born on a day b with b + 90 ≤ the run's days;
    born = first day the group appears in ``groups``) that died (a row with ``alive`` false) on a
    day before b + 90, divided by those groups. In a run of 90 days only the groups present on
    day 0 qualify.
    """
    days = int(tables["daily"]["day"].max()) + 1
    life = group_lifetimes(tables)
    observed = life[life["first_day"] + life_days <= days]
    died = (observed["death_day"] >= 0) & (
        observed["death_day"] < observed["first_day"] + life_days
    )
    share = float(died.mean()) if len(observed) else math.nan
    return {"share": share, "n_groups": int(len(observed))}


# -- the replay --------------------------------------------------------------------------------
