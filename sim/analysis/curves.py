"""Curves computed from a run's tables: share retained by days since joining, the purchases of
arrivals and their mean cumulative revenue with right-censoring, and the deterministic
Kaplan–Meier subsample. Pure functions;
the plots in :mod:`sim.plots.run` draw them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

KM_MAX_USERS = 200_000
MIN_OBSERVED_SHARE = 0.25  # LTV curves stop when fewer than this share of the cohort is observed


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den == 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def observed_durations(users: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, duration): observation start max(join_day, 0) and days until churn or horizon."""
    join = users["join_day"].to_numpy(np.int64)
    churn = users["churn_day"].to_numpy(np.int64)
    start = np.maximum(join, 0)
    duration = np.where(churn >= 0, churn - start, horizon - start)
    return start, np.maximum(duration, 0)


def share_retained_curve(
    start: np.ndarray, duration: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Share of a cohort not churned k days after its start, for k = 0 .. last fully observed day.

    A member is retained at k if ``duration > k``; k runs up to ``horizon - 1 - start.max()``
    so every member of the cohort is observed at every plotted k. Vectorised (one bincount).
    """
    n = len(duration)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0)
    k_max = int(horizon - 1 - start.max())
    if k_max < 0:
        return np.empty(0, np.int64), np.empty(0)
    churned_by = np.cumsum(np.bincount(np.minimum(duration, k_max + 1), minlength=k_max + 2))
    return np.arange(k_max + 1), (n - churned_by[: k_max + 1]) / n


def user_rows(users: pd.DataFrame, user_ids: np.ndarray) -> np.ndarray:
    """Row index in ``users`` of each id in ``user_ids`` (-1 if unknown), by binary search."""
    ids = users["user_id"].to_numpy(np.int64)
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], user_ids)
    pos_clipped = np.minimum(pos, len(ids) - 1)
    found = (pos < len(ids)) & (ids[order][pos_clipped] == user_ids)
    return np.where(found, order[pos_clipped], -1)


def mean_cumulative_revenue(
    last_k: np.ndarray, purchase_k: np.ndarray, purchase_last_k: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cumulative revenue per user k days after joining, right-censoring handled.

    ``last_k`` is, per user, the last day-since-joining that is observed (horizon-1-join_day).
    The estimate is the running sum over j <= k of the mean revenue on day-since-joining j among
    the users observed at j (the mean-cumulative-function estimator), so it never decreases and
    cohorts of different lengths do not pull it down. Returns (k, mean) up to where fewer than
    ``MIN_OBSERVED_SHARE`` of the cohort remain observed.
    """
    del purchase_last_k  # each purchase counts on its own day; observation is in ``observed``
    if len(last_k) == 0 or last_k.max() < 0:
        return np.empty(0, np.int64), np.empty(0)
    k_max = int(last_k.max())
    observed = np.cumsum(np.bincount(last_k[last_k >= 0], minlength=k_max + 1)[::-1])[::-1]
    inside = purchase_k <= k_max
    daily = np.bincount(purchase_k[inside], weights=price[inside], minlength=k_max + 1)
    mean = np.cumsum(ratio(daily[: k_max + 1], observed))
    keep = observed >= max(1.0, MIN_OBSERVED_SHARE * len(last_k))
    k = np.arange(k_max + 1)
    return k[keep], mean[keep]


def arrival_purchases(
    users: pd.DataFrame, purchases: pd.DataFrame, arrivals: np.ndarray, last_k: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user row, days since joining, price) of each observed purchase made by an arrival.

    ``arrivals`` marks the rows of ``users`` to keep, ``last_k`` is each user's last observed
    day since joining; purchases of other or unknown users, or after ``last_k``, are dropped.
    """
    rows = user_rows(users, purchases["user_id"].to_numpy(np.int64))
    keep = rows >= 0
    keep[keep] = arrivals[rows[keep]]
    rows = rows[keep]
    p_k = purchases["day"].to_numpy(np.int64)[keep] - users["join_day"].to_numpy(np.int64)[rows]
    price = purchases["price_paid"].to_numpy(float)[keep]
    ok = (p_k >= 0) & (p_k <= last_k[rows])
    return rows[ok], p_k[ok], price[ok]


def km_sample(users: pd.DataFrame, max_users: int = KM_MAX_USERS) -> tuple[pd.DataFrame, int]:
    """Deterministic subsample for Kaplan–Meier: sort by user_id, take every k-th user.

    Returns (frame, k); k == 1 means all users are used.
    """
    step = max(1, math.ceil(len(users) / max_users))
    if step == 1:
        return users, 1
    cols = ["user_id", "join_day", "duration", "churned"]
    ordered = users[cols].sort_values("user_id", kind="stable")
    return ordered.iloc[::step], step
