"""Forecasting from a fitted twin: purchases and spend per user after the calibration end.

"Business as usual" means the fitted process goes on: each user keeps its own p and θ, drawn
from its posterior. Two kinds of figures:

* **expected values** (exact, at the fitted parameters): E[X(h)] = P(present and buying) ·
  E[p | buying] · Σ_{k=1}^{h} E[(1−ω)^k]·E[(1−θ)^k] (:func:`sim.twin.model.expected_purchases`),
  and expected spend = E[X(h)] · E[spend per purchase day | x, m̄] (Gamma–Gamma) · the user's
  ladder factor F (below);
* **intervals** by Monte Carlo: for each draw, a parameter set from the asymptotic normal of the
  fit (``PARAM_SETS`` sets, cycled over the draws, so parameter uncertainty is in the intervals),
  then for each user: still buying? ~ Bernoulli(P(present and buying)); p ~ Beta(α+x, β+n−x);
  ω ~ Beta(γ, δ+n); θ ~ Beta(κ, λ+n); buying days among the next H = min(Geometric(ω) − 1,
  Geometric(θ) − 1, H); purchase days c ~ Binomial(days, p); one ν from its Gamma–Gamma
  posterior per user and draw, and the draw's spend ~ Gamma(c·p_s, ν) (the sum of c purchases
  of Gamma(p_s, ν)) times the mean of the c purchases' ladder multipliers level(k) / the level
  the user's own mean reflects (the price ladder,
  :meth:`sim.twin.model.GammaGamma.ladder_factor`; k = the user's calibration purchase days +
  the purchase's rank within the draw). The ladder factor F of a user is the mean of those
  multipliers over all its drawn purchases (that of its next purchase if no draw has one): the
  exact expectations use it. Per-user 80% and 95% intervals are quantiles of the draws; the
  weekly cumulative totals sum the users draw by draw (a purchase's day is uniform over the
  user's remaining days — exact in distribution per purchase; ignores that two purchases
  cannot share a day, negligible when purchases are a small share of days; a draw's spend is
  split evenly over its purchases, so the horizon's total is exact and earlier weeks slightly
  less spread). Work per draw is per user, not per purchase, except the purchase days (one
  uniform number each).

Randomness: ``numpy.random.default_rng`` seeded by (seed, ``Purpose.TWIN``, chunk) for users in
fixed chunks of the twin's user order (sorted by user id), so a seed gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.io.outputs import check_new_files, check_table_path, write_frame
from sim.rng import Purpose
from sim.twin.model import GammaGamma, TwinModel
from sim.twin.processes import DailyProcess, Process
from sim.twin.rfm import from_day, to_day

PARAM_SETS = 20
CHUNK_USERS = 10_000
QUANTILES = {"lo95": 0.025, "lo80": 0.10, "hi80": 0.90, "hi95": 0.975}


@dataclass
class Forecast:
    """Per-user forecast and the weekly cumulative totals."""

    users: pd.DataFrame
    weekly: pd.DataFrame
    horizon_days: int
    seed: int
    draws: int


def week_ends(horizon: int) -> np.ndarray:
    """Day offsets closing each week after the calibration end: 7, 14, …, and ``horizon``."""
    ends = np.arange(7, horizon, 7, dtype=np.int64)
    return np.append(ends, horizon)


def _seed_sequence(seed: int, *words: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), int(Purpose.TWIN), *map(int, words)])


def _spend_draws(spend: GammaGamma | None, rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, 3) Gamma–Gamma parameter sets (p, q, v), or NaN rows without a spend model."""
    if spend is None:
        return np.full((size, 3), np.nan)
    cov = spend.cov_log_
    if not np.all(np.isfinite(cov)):
        return np.tile(np.exp(spend.log_params_), (size, 1))
    return np.exp(rng.multivariate_normal(spend.log_params_, cov, size=size, method="eigh"))


def forecast(
    process: Process | TwinModel,
    spend: GammaGamma | None,
    users: pd.DataFrame,
    horizon: int,
    *,
    seed: int = 0,
    draws: int = 200,
) -> Forecast:
    """Forecast purchases and spend in the ``horizon`` days after the calibration end.

    Parameters
    ----------
    process, spend
        The fitted purchase process (:mod:`sim.twin.processes`; the twin's chosen one) and
        spend model (``spend`` may be None: no spend).
    users
        Per-user statistics (:func:`sim.twin.rfm.user_statistics`), one row per user.
    horizon
        Days to forecast (≥ 1).
    seed, draws
        Monte Carlo seed and number of draws per user (≥ 20).

    Returns
    -------
    Forecast
        ``users``: user_id, p_present, p_buying, expected_purchases,
        purchases_{lo95,lo80,hi80,hi95}, prob_any_purchase, expected_spend, spend_{lo95,…};
        ``weekly``: week, day (offset of the week's last day), expected_purchases and
        expected_spend (cumulative), their intervals.
    """
    if horizon < 1:
        raise ValueError(f"the forecast horizon must be at least one day (got {horizon})")
    if draws < 20:
        raise ValueError(f"draws must be at least 20 for 95% intervals (got {draws})")
    ends = week_ends(horizon)
    if isinstance(process, TwinModel):
        process = DailyProcess.of(process)
    post = process.state(users)
    x = users["x"].to_numpy(np.float64)
    mean_spend = users["mean_spend"].to_numpy(np.float64)
    per_purchase = (
        spend.expected_spend(x, mean_spend) if spend is not None else np.full(x.shape, np.nan)
    )
    expected = process.expected(users, ends)
    sim = _simulate(process, spend, users, horizon, ends, seed, draws)
    per_purchase = per_purchase * sim.ladder_factor
    _include_expected(sim.purchase_q, expected[:, -1])
    _include_expected(sim.spend_q, expected[:, -1] * per_purchase)
    table = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy(),
            "p_present": post["p_present"].to_numpy(),
            "p_buying": post["p_buying"].to_numpy(),
            "expected_purchases": expected[:, -1],
            **{f"purchases_{k}": sim.purchase_q[k] for k in QUANTILES},
            "prob_any_purchase": sim.any_purchase,
            "expected_spend": expected[:, -1] * per_purchase,
            **{f"spend_{k}": sim.spend_q[k] for k in QUANTILES},
            "ladder_factor": sim.ladder_factor,
        }
    )
    weekly = pd.DataFrame(
        {
            "week": np.arange(1, ends.size + 1, dtype=np.int64),
            "day": ends,
            "expected_purchases": expected.sum(axis=0),
            **_interval_columns("purchases", sim.weekly_purchases),
            "expected_spend": (expected * per_purchase[:, None]).sum(axis=0),
            **_interval_columns("spend", sim.weekly_spend),
        }
    )
    return Forecast(table, weekly, horizon, seed, draws)


def _include_expected(quantiles: dict[str, np.ndarray], expected: np.ndarray) -> None:
    """Widen each interval to contain the expectation (lo ≤ expected ≤ hi for every user): a
    skewed count (most likely zero, a mean of 0.3) can have a 95% quantile below its mean;
    widening only raises the coverage."""
    if not np.all(np.isnan(expected)):
        for k in ("lo95", "lo80"):
            quantiles[k] = np.fmin(quantiles[k], expected)
        for k in ("hi80", "hi95"):
            quantiles[k] = np.fmax(quantiles[k], expected)


def _interval_columns(name: str, draws_by_week: np.ndarray) -> dict[str, np.ndarray]:
    cum = np.cumsum(draws_by_week, axis=1)
    return {f"{name}_{k}": np.quantile(cum, q, axis=0) for k, q in QUANTILES.items()}


@dataclass
class _Draws:
    purchase_q: dict[str, np.ndarray]
    spend_q: dict[str, np.ndarray]
    any_purchase: np.ndarray
    ladder_factor: np.ndarray
    weekly_purchases: np.ndarray
    weekly_spend: np.ndarray


def _simulate(process, spend, users, horizon, ends, seed, draws) -> _Draws:
    n_users = len(users)
    param_rng = np.random.default_rng(_seed_sequence(seed, 0))
    n_sets = min(PARAM_SETS, draws)
    daily = isinstance(process, DailyProcess)
    if daily:
        model = process.model
        params = model.draw_params(param_rng, n_sets)
        buying = model.buying_probability(users, params).astype(np.float32)
    spend_params = _spend_draws(spend, param_rng, n_sets)
    week_of_day = np.searchsorted(ends, np.arange(1, horizon + 1), side="left")
    out = _Draws(
        purchase_q={k: np.empty(n_users) for k in QUANTILES},
        spend_q={k: np.empty(n_users) for k in QUANTILES},
        any_purchase=np.empty(n_users),
        ladder_factor=np.ones(n_users),
        weekly_purchases=np.zeros((draws, ends.size)),
        weekly_spend=np.zeros((draws, ends.size)),
    )
    cols = {c: users[c].to_numpy(np.float64) for c in ("x", "n", "mean_spend")}
    cols["purchase_days"] = users["purchase_days"].to_numpy(np.int64)
    # twins written before the ladder existed lack the column: their users are at the reference
    cols["ladder_level"] = (
        users["ladder_level"].to_numpy(np.float64)
        if "ladder_level" in users
        else np.full(n_users, np.nan)
    )
    for chunk, start in enumerate(range(0, n_users, CHUNK_USERS)):
        rows = slice(start, min(start + CHUNK_USERS, n_users))
        rng = np.random.default_rng(_seed_sequence(seed, 1, chunk))
        local = {c: v[rows] for c, v in cols.items()}
        if daily:
            counts, days = _daily_counts(
                rng, params, model.presence_, buying[:, rows], local, horizon, draws
            )
        else:
            counts = process.draw_counts(users.iloc[rows], horizon, rng, draws)
            days = np.full(counts.shape, horizon)
        amounts, factor = _place_and_price(
            rng, counts, days, spend, spend_params, local, week_of_day,
            out.weekly_purchases, out.weekly_spend,
        )  # fmt: skip
        counts.sort(axis=1)
        amounts.sort(axis=1)
        for k, q in QUANTILES.items():
            out.purchase_q[k][rows] = np.quantile(counts, q, axis=1, method="inverted_cdf")
            out.spend_q[k][rows] = np.quantile(amounts, q, axis=1)
        out.any_purchase[rows] = (counts > 0).mean(axis=1)
        out.ladder_factor[rows] = factor
    return out


def _days_until(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Days survived before an event of daily probability ~ Beta(a, b): Geometric − 1 (the
    probability is kept ≥ 1e-12: a Beta draw can underflow to 0 for tiny a)."""
    return rng.geometric(np.clip(rng.beta(a, b), 1e-12, 1.0)) - 1


def _daily_counts(rng, params, presence, buying, cols, horizon, draws):
    """The daily twin's draws for one chunk of users: purchase days and buying days left,
    each (users, draws)."""
    m = cols["x"].shape[0]
    n_sets = params.shape[0]
    s = np.arange(draws) % n_sets  # parameter set of each draw
    x = cols["x"][:, None]
    n = cols["n"][:, None]
    a, b, g, d, k, lam = (params[s, i][None, :] for i in range(6))
    still = rng.random((m, draws)) < buying[s].T
    p = rng.beta(a + x, b + n - x)
    days = np.minimum(_days_until(rng, np.broadcast_to(g, (m, draws)), d + n), horizon)
    if presence:
        days = np.minimum(days, _days_until(rng, np.broadcast_to(k, (m, draws)), lam + n))
    days = np.where(still, days, 0)
    return rng.binomial(days, p), days


def _place_and_price(rng, counts, days, spend, spend_params, cols, week_of_day,
                     weekly_purchases, weekly_spend):  # fmt: skip
    """The spend of each (user, draw) with purchases and each user's ladder factor; adds the
    chunk's weekly totals into ``weekly_purchases`` / ``weekly_spend`` (draws × weeks).

    Given the user's ν, the k purchases of a draw cost Σ Gamma(p_s, ν) = Gamma(k·p_s, ν)
    (shape, rate): one ν and one Gamma draw per (user, draw), times the mean ladder multiplier
    of its k purchases (exact in the mean; with a ladder the spread is that of k equal
    multipliers). Only the purchase days are drawn per purchase (uniform over the user's
    buying days left), for the weekly split; a draw's spend is split evenly over its purchases.
    """
    m, draws = counts.shape
    n_sets = spend_params.shape[0]
    s = np.arange(draws) % n_sets  # parameter set of each draw
    amounts = np.zeros((m, draws))
    user, draw = np.nonzero(counts)
    k = counts[user, draw]
    day = np.floor(rng.random(int(k.sum())) * np.repeat(days[user, draw], k)).astype(np.int64)
    n_weeks = weekly_purchases.shape[1]
    cell = np.repeat(draw, k) * n_weeks + week_of_day[day]
    weekly_purchases += np.bincount(cell, minlength=draws * n_weeks).reshape(draws, n_weeks)
    ladder_sum, user_factor = _ladder_factors(spend, cols, user, k)
    if np.isfinite(spend_params).all():
        sp, sq, sv = (spend_params[s[draw], i] for i in range(3))
        xs = cols["x"][user]
        ms = np.nan_to_num(cols["mean_spend"][user], nan=0.0)
        xs = np.where(ms > 0, xs, 0.0)
        nu = rng.gamma(sq + sp * xs, 1.0 / (sv + xs * ms))
        total = rng.gamma(k * sp, 1.0 / nu) * (ladder_sum / k)
        amounts[user, draw] = total
        weekly_spend += np.bincount(
            cell, weights=np.repeat(total / k, k), minlength=draws * n_weeks
        ).reshape(draws, n_weeks)
    else:
        amounts[:] = np.nan
        weekly_spend[:] = np.nan
    return amounts, user_factor


def _ladder_factors(spend, cols, user, k):
    """The sum of the ladder multipliers of each (user, draw)'s k drawn purchases (k without a
    ladder) and each user's ladder factor F (ones without a ladder): a purchase's order is
    the user's calibration purchase days + its rank among the user's purchases in its draw."""
    m = cols["x"].shape[0]
    if spend is None or spend.ladder_ is None:
        return k.astype(np.float64), np.ones(m)
    level = cols["ladder_level"]
    sums = spend.ladder_sum(cols["purchase_days"][user] + 1, k, level[user])
    next_factor = spend.ladder_factor(cols["purchase_days"] + 1, level)
    drawn = np.bincount(user, weights=k, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_factor = np.bincount(user, weights=sums, minlength=m) / drawn
    return sums, np.where(drawn > 0, mean_factor, next_factor)


# --------------------------------------------------------------------------- files


def weekly_path(out: Path) -> Path:
    """``<stem>_weekly.<ext>`` next to the per-user file (``.csv`` or ``.parquet``)."""
    suffix = out.suffix.lower()
    return out.with_name(f"{out.stem}_weekly{suffix}")


def check_output(out: Path, overwrite: bool = False, inputs=()) -> None:
    """ValueError for an unsupported extension; FileExistsError for an existing per-user or
    weekly file without ``overwrite``; :class:`~sim.errors.OutputRefused` for one of ``inputs``
    (e.g. the twin folder being forecast)."""
    check_table_path(out, "the forecast file")
    check_new_files((out, weekly_path(out)), overwrite, inputs)


CSV_OPTIONS = {"float_format": "%.6g", "date_format": "%Y-%m-%d"}  # the twin's CSV outputs


def with_dates(fc: Forecast, calibration_end: object) -> pd.DataFrame:
    """The weekly table with the calendar date of each week's last day."""
    weekly = fc.weekly.copy()
    weekly.insert(2, "date", from_day(to_day(calibration_end) + weekly["day"].to_numpy()))
    return weekly


def write_forecast(fc: Forecast, out: Path, calibration_end: object, overwrite: bool = False):
    """Write the per-user file and ``<stem>_weekly.<ext>``; returns both paths."""
    out = Path(out)
    check_output(out, overwrite)
    weekly = with_dates(fc, calibration_end)
    write_frame(fc.users, out, **CSV_OPTIONS)
    write_frame(weekly, weekly_path(out), **CSV_OPTIONS)
    return out, weekly_path(out)
