"""The whole twin fit: the purchase process (chosen by :mod:`sim.twin.choice` when the events
are given), the spend model, each user's state and the frequency check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import FitError
from sim.twin.choice import Choice, choose_process, fit_chosen
from sim.twin.model import GammaGamma
from sim.twin.processes import DailyProcess, Process

MAX_X = 7
# A Beta's a + b (or a Gamma's shape) beyond this is a point mass: the data did not identify any
# spread between customers, and the forecast treats them all alike in that respect
POINT_MASS = 1e4
# each process's mixing distributions: (Beta parameters or a Gamma shape, what they spread)
_DROPOUT = (("a", "b"), "the chance of dropping out after a purchase")
_RATE = (("r",), "the purchase rate")
_DAILY = ((("alpha", "beta"), "the daily purchase chance"),
          (("gamma", "delta"), "the daily chance of stopping buying"))  # fmt: skip
_MIXINGS = {
    "bgnbd": (_RATE, _DROPOUT),
    "mbgcnbd": (_RATE, _DROPOUT),
    "pareto_nbd": (_RATE, (("s",), "the dropout rate")),
    "bgbb_days": _DAILY,
    "twin": _DAILY,
}


@dataclass
class TwinFit:
    """A fitted twin in memory: per-user table, the chosen process, spend and the checks."""

    calibration_end: pd.Timestamp
    users: pd.DataFrame
    model: Process
    spend: GammaGamma | None
    frequency: pd.DataFrame
    choice: Choice | None = None

    @property
    def warnings(self) -> list[str]:
        """What the terminal and the fit report must say (spend identification, bounds)."""
        out = [] if self.spend is None else list(self.spend.warnings_)
        if self.model.at_bound_:
            out.append(f"{self.model.label}: a parameter is at its search bound")
        return out + point_mass_warnings(self.model.name, self.model.params_)


def point_mass_warnings(process: str, params: dict[str, float]) -> list[str]:
    """Warnings for mixing distributions the fit collapsed to a point (no spread identified)."""
    out = []
    for names, what in _MIXINGS.get(process, ()):
        if not all(k in params for k in names):
            continue
        values = [params[k] for k in names]
        size = sum(values)
        if not size > POINT_MASS:
            continue
        common = f" (about {values[0] / size:.3g} for everyone)" if len(names) == 2 else ""
        joined = " + ".join(names)
        out.append(
            f"{process}: {joined} = {size:.3g}: {what} barely varies between customers{common}; "
            "the data do not identify its spread, so customers are treated alike in it"
        )
    return out


def fit_twin(
    stats: pd.DataFrame,
    calibration_end: object,
    activity: str = "rate",
    *,
    events: pd.DataFrame | None = None,
    choice: Choice | None = None,
) -> TwinFit:
    """Fit the twin to per-user statistics of the calibration period.

    With ``events`` (the log) the purchase process is chosen by out-of-sample skill inside the
    calibration period (:func:`sim.twin.choice.choose_process`), or pass a ready ``choice``;
    without either it is the daily twin (BG/BB on days, with activity and leaves when the log
    has them). The spend model is :class:`GammaGamma` with the price ladder.
    """
    if choice is None and events is not None:
        choice = choose_process(events, calibration_end, activity)
    process = (
        fit_chosen(choice, stats, activity) if choice is not None
        else DailyProcess(activity).fit(stats)
    )  # fmt: skip
    try:
        spend = GammaGamma().fit(stats["x"], stats["mean_spend"])
        spend.set_ladder(stats.attrs.get("price_ladder"))
    except FitError:
        spend = None
    users = pd.concat([stats.reset_index(drop=True), process.state(stats)], axis=1)
    users["spend_per_purchase"] = (
        spend.expected_spend(stats["x"], stats["mean_spend"]) if spend is not None else np.nan
    )
    n = stats["n"].to_numpy(np.int64)
    observed = np.bincount(np.minimum(stats["x"].to_numpy(np.int64), MAX_X), minlength=MAX_X + 1)
    expected = process.expected_frequency(n, MAX_X, np.random.default_rng(0))
    frequency = pd.DataFrame(
        {
            "x": [str(k) for k in range(MAX_X)] + [f"{MAX_X}+"],
            "observed_users": observed,
            "expected_users": expected,
        }
    )
    cal = pd.Timestamp(calibration_end).normalize()
    return TwinFit(cal, users, process, spend, frequency, choice)
