"""Probe (not part of the twin): does a dropout chance at each purchase fix the daily process's
x = 1 group on a log with a price ladder?

    python benchmarks/twin_purchase_dropout_probe.py events.csv 2024-08-31

On the validation split of the model choice (:func:`sim.twin.choice.split_day`), fits BG/BB
with days as opportunities plus a chance π ~ Beta(a, b) of stopping buying right after each
purchase (as BG/NBD drops out after a purchase), by maximum likelihood with numerical
gradients from a few starting points (the best is kept):

    L = E[(1−π)^x] · Pur(n) + [x > 0] · E[π (1−π)^(x−1)] · A(t_x) · Ω(t_x)

(Pur, A, Ω as in docs/TWIN.md §3.4, no activity or leaving clock), then forecasts the
validation window by Monte Carlo over each history's posterior (p, ω, π), and prints the total
error, the mean squared error and each judged frequency group's error next to the twin's own
BG/BB on days and BG/NBD. A probe for docs/TWIN.md §7.1, not a model of the twin.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.twin.choice import group_errors, split_day  # noqa: E402
from sim.twin.events import load_events  # noqa: E402
from sim.twin.processes import make_process  # noqa: E402
from sim.twin.rfm import from_day, to_day, user_statistics  # noqa: E402

DRAWS = 400
STARTS = ([1, 50, 0.5, 50, 1, 1], [0.2, 100, 0.5, 500, 10, 3], [1, 500, 2, 300, 100, 100])


class Histories:
    """Distinct (x, t_x, n) with their counts, and the day grid of the Pur(n) sum."""

    def __init__(self, stats: pd.DataFrame) -> None:
        u = stats[stats["n"] > 0].groupby(["x", "t_x", "n"]).size().reset_index(name="w")
        self.x, self.tx, self.n, self.w = (u[c].to_numpy() for c in ("x", "t_x", "n", "w"))
        self.m = np.arange(self.n.max() + 1)[None, :]
        self.mask = (self.m >= self.tx[:, None]) & (self.m <= self.n[:, None] - 1)

    def terms(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(likelihood, its part in which the history is still buying at n)."""
        al, be, ga, de, a, b = params
        x, tx, n = self.x, self.tx, self.n

        def rec(days):  # log A(days) + log Ω(days)
            return (betaln(al + x, be + days - x) - betaln(al, be)
                    + betaln(ga, de + days) - betaln(ga, de))  # fmt: skip

        grid = (betaln(al + x[:, None], be + np.maximum(self.m - x[:, None], 0))
                + betaln(ga + 1, de + self.m) - betaln(al, be) - betaln(ga, de))  # fmt: skip
        stopped = np.where(self.mask, np.exp(grid), 0.0).sum(axis=1)
        buying = np.exp(rec(n))
        survived = np.exp(betaln(a, b + x) - betaln(a, b))
        dropped = np.exp(betaln(a + 1, b + np.maximum(x - 1, 0)) - betaln(a, b)) * (x > 0)
        lik = survived * (stopped + buying) + dropped * np.exp(rec(tx))
        return lik, survived * buying

    def neg_log_lik(self, log_params: np.ndarray) -> float:
        lik = self.terms(np.exp(log_params))[0]
        return -float((self.w * np.log(np.maximum(lik, 1e-300))).sum())


def expected(h: Histories, params: np.ndarray, horizon: int, seed: int = 1) -> np.ndarray:
    """E[purchase days in the next ``horizon`` days] per history, by Monte Carlo."""
    al, be, ga, de, a, b = params
    lik, buying = h.terms(params)
    rng = np.random.default_rng(seed)
    days = np.arange(horizon)[:, None]
    out = np.empty(h.x.size)
    for i in range(h.x.size):
        p = rng.beta(al + h.x[i], be + h.n[i] - h.x[i], DRAWS)
        w = rng.beta(ga, de + h.n[i], DRAWS)
        pi = rng.beta(a, b + h.x[i], DRAWS)
        keep = (1 - w) * (1 - p * pi)  # still buying after a day: not stopped, not dropped
        out[i] = buying[i] / lik[i] * float((p * (1 - w) * keep**days).sum(axis=0).mean())
    return out


def main(path: str, calibration_end: str) -> None:
    events = load_events(path).events
    cut = split_day(events, calibration_end)
    stats = user_statistics(
        events[events["date"] <= pd.Timestamp(calibration_end)], from_day(cut), calibration_end
    )
    horizon = to_day(calibration_end) - cut
    x = stats["x"].to_numpy(np.int64)
    actual = stats["holdout_purchases"].to_numpy(np.float64)
    h = Histories(stats)
    t0 = time.perf_counter()
    fits = [
        minimize(h.neg_log_lik, np.log(start), method="L-BFGS-B", bounds=[(-10, 14)] * 6)
        for start in STARTS
    ]  # the likelihood is flat in (a, b): keep the best of a few starts
    for f in fits:
        print(f"  start → log-likelihood {-f.fun:,.2f}, parameters {np.round(np.exp(f.x), 4)}")
    fit = min(fits, key=lambda f: f.fun)
    params = np.exp(fit.x)
    per = pd.Series(expected(h, params, horizon), index=pd.MultiIndex.from_arrays([h.x, h.tx, h.n]))
    probe = per.reindex(pd.MultiIndex.from_arrays([x, stats["t_x"], stats["n"]])).fillna(0.0)
    forecasts = {"BG/BB days + dropout at purchase (probe)": probe.to_numpy()}
    for name in ("bgbb_days", "bgnbd"):
        process = make_process(name).fit(stats, with_se=False)
        forecasts[name] = process.expected(stats, np.array([horizon]))[:, 0]
    print(f"{len(stats):,} users, {h.x.size:,} histories, validation {horizon} days; probe: "
          f"log-likelihood {-fit.fun:,.1f}, α β γ δ a b = {np.round(params, 4).tolist()} "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    for name, fc in forecasts.items():
        groups = {g: round(e, 1) for g, e in group_errors(fc, actual, x).items()}
        print(f"{name}: total {(fc.sum() / actual.sum() - 1) * 100:+.1f}%, "
              f"MSE {((fc - actual) ** 2).mean():.5f}, groups (error %) {groups}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
