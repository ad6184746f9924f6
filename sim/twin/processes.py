"""The purchase-and-dropout processes the twin chooses from, behind one interface.

Each process is fitted on the per-user statistics of :mod:`sim.twin.rfm` and gives each user's
expected purchase days after the calibration end, its state (the columns the twin population
and the forecast read) and Monte-Carlo draws of its future purchase days:

============== ================================================================================
``bgnbd``      BG/NBD (Fader, Hardie & Lee 2005), :mod:`sim.twin.bgnbd`, in weeks
``pareto_nbd`` Pareto/NBD (Schmittlein et al. 1987), :mod:`sim.twin.btyd`, in weeks
``mbgcnbd``    MBG/CNBD-k, regular inter-purchase times (Platzer & Reutterer 2016), in weeks
``bgbb_days``  BG/BB with days as opportunities (Fader, Hardie & Shang 2010), :mod:`sim.twin.model`
``twin``       BG/BB days with the leaving clock, activity and recorded leaves
               (:mod:`sim.twin.model`; only when the log has activity or leave events)
============== ================================================================================

Time zero is the user's birth (its first event); BG/NBD-type processes see (x, t_x/7, n/7).
For the weekly processes the state columns are daily equivalents: ``p_buying`` = P(alive),
``p_mean`` = E[daily purchase rate | alive], ``stop_mean`` = the expected daily chance of
dropping out while alive, ``p_present`` = 1 and ``leave_mean`` = 0 (purchases alone cannot tell
leaving from stopping buying).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.twin.bgnbd import BGNBD
from sim.twin.btyd import MBGCNBD, ParetoNBD
from sim.twin.model import TwinModel, expected_purchases, frequency_distribution

STATE_COLUMNS = (
    "p_present", "p_buying", "p_mean", "stop_mean", "leave_mean", "seen_mean", "p_a", "p_b",
)  # fmt: skip
LABELS = {
    "bgnbd": "BG/NBD (weeks)",
    "pareto_nbd": "Pareto/NBD (weeks)",
    "mbgcnbd": "MBG/CNBD-k, regular timing (weeks)",
    "bgbb_days": "BG/BB (days as opportunities)",
    "twin": "twin: BG/BB days + leaving, activity, leaves",
}
WEEK = 7.0


def _weeks(stats: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        stats["x"].to_numpy(np.float64),
        stats["t_x"].to_numpy(np.float64) / WEEK,
        stats["n"].to_numpy(np.float64) / WEEK,
    )


class Process:
    """Interface (see the module doc). Fitted attributes: ``params_``, ``se_``,
    ``log_likelihood_``, ``converged_``, ``at_bound_``."""

    name = ""

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> Process:
        raise NotImplementedError

    def expected(self, stats: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        """E[purchase days in the first ``ends`` days after the calibration end], (users, ends)."""
        raise NotImplementedError

    def state(self, stats: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def expected_frequency(self, n: np.ndarray, max_x: int, rng) -> np.ndarray:
        """Model-expected users with x = 0 … max_x − 1 and ≥ max_x given each user's n."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


# --------------------------------------------------------------------------- weekly BTYD


class _Weekly(Process):
    """Shared parts of the three weekly processes."""

    model: Any

    def _fit_rows(self, stats: pd.DataFrame):
        x, tx, big_t = _weeks(stats)
        keep = big_t > 0  # users born on the calibration end carry no information
        return x[keep], tx[keep], big_t[keep], keep

    def _attributes(self) -> None:
        m = self.model
        self.params_, self.se_ = m.params_, m.se_
        self.log_likelihood_ = m.log_likelihood_
        self.converged_ = m.converged_
        self.at_bound_ = bool(getattr(m, "at_bound_", False))

    @property
    def ci95_(self) -> dict[str, list[float]]:
        """95% intervals back-transformed from the log scale (delta-method SE of the log)."""
        out = {}
        for k, v in self.params_.items():
            se = self.se_.get(k)
            spread = 1.959963984540054 * (se / v if se is not None and v > 0 else np.nan)
            out[k] = [float(v * np.exp(-spread)), float(v * np.exp(spread))]
        return out

    def expected(self, stats: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        x, tx, big_t = _weeks(stats)
        out = np.empty((x.size, len(ends)))
        for i, h in enumerate(np.asarray(ends, np.float64)):
            out[:, i] = self._expected_weeks(h / WEEK, x, tx, big_t)
        return np.nan_to_num(np.maximum(out, 0.0))

    def _expected_weeks(self, t, x, tx, big_t) -> np.ndarray:
        return self.model.expected_purchases(t, x, tx, big_t)

    def p_alive(self, stats: pd.DataFrame) -> np.ndarray:
        x, tx, big_t = _weeks(stats)
        return self.model.probability_alive(x, tx, np.maximum(big_t, 1e-9))

    def state(self, stats: pd.DataFrame) -> pd.DataFrame:
        x, _, big_t = _weeks(stats)
        post = self.posterior(x, big_t)
        rate = post["rate_shape"] / post["rate_rate"] / WEEK
        if "death_rate" in post:
            stop = post["death_shape"] / post["death_rate"] / WEEK
        else:
            stop = post["drop_a"] / (post["drop_a"] + post["drop_b"]) * rate
        return pd.DataFrame(
            {
                "p_present": np.ones(x.size),
                "p_buying": self.p_alive(stats),
                "p_mean": rate,
                "stop_mean": stop,
                "leave_mean": np.zeros(x.size),
                "seen_mean": np.full(x.size, np.nan),
                "p_a": post["rate_shape"],
                "p_b": post["rate_rate"] * WEEK,
            }
        )

    def posterior(self, x: np.ndarray, big_t: np.ndarray) -> dict[str, np.ndarray]:
        return self.model.alive_posterior(x, big_t)

    def draw_counts(self, stats: pd.DataFrame, horizon: int, rng, draws: int) -> np.ndarray:
        """(users, draws) purchase days in the next ``horizon`` days from the alive posterior
        (parameters at their estimates; a Poisson count may put two purchases on one day,
        negligible at these rates)."""
        x, _, big_t = _weeks(stats)
        alive = rng.random((x.size, draws)) < self.p_alive(stats)[:, None]
        post = {k: v[:, None] for k, v in self.posterior(x, big_t).items()}
        lam = rng.gamma(post["rate_shape"], 1.0 / post["rate_rate"], (x.size, draws))
        weeks = horizon / WEEK
        if "death_rate" in post:
            mu = rng.gamma(post["death_shape"], 1.0 / post["death_rate"], (x.size, draws))
            life = np.minimum(rng.exponential(1.0 / np.maximum(mu, 1e-300)), weeks)
            counts = rng.poisson(lam * life)
        else:
            p = rng.beta(post["drop_a"], post["drop_b"], (x.size, draws))
            dropped_after = rng.geometric(np.clip(p, 1e-12, 1.0))  # the purchase it stops at
            counts = np.minimum(rng.poisson(lam * weeks), dropped_after)
        return np.where(alive, counts, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.name,
            "name": self.label,
            "time_unit": "weeks",
            "params": self.params_,
            "se": self.se_,
            "ci95": self.ci95_,
            "log_likelihood": self.log_likelihood_,
            "converged": self.converged_,
            "at_bound": self.at_bound_,
        }


class BGNBDProcess(_Weekly):
    name = "bgnbd"

    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> BGNBDProcess:
        x, tx, big_t, _ = self._fit_rows(stats)
        self.model = BGNBD().fit(x, tx, big_t, with_se=with_se)
        self._attributes()
        return self

    def _expected_weeks(self, t, x, tx, big_t) -> np.ndarray:
        seen = big_t > 0  # BG/NBD needs T > 0: users born on the last day are new customers
        out = np.empty(x.size)
        out[seen] = self.model.expected_purchases(t, x[seen], tx[seen], big_t[seen])
        out[~seen] = self.model.expected_purchases_new(t)
        return out

    def p_alive(self, stats: pd.DataFrame) -> np.ndarray:
        x, tx, big_t = _weeks(stats)
        return self.model.probability_alive(x, tx, np.maximum(big_t, 1e-9))

    def posterior(self, x, big_t):
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        return {"rate_shape": r + x, "rate_rate": alpha + big_t,
                "drop_a": np.full(x.shape, a), "drop_b": b + x}  # fmt: skip

    def expected_frequency(self, n, max_x, rng) -> np.ndarray:
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        lam = rng.gamma(r, 1.0 / alpha, n.size)
        stops = rng.geometric(np.clip(rng.beta(a, b, n.size), 1e-12, 1))
        return _bins(np.minimum(rng.poisson(lam * n / WEEK), stops), max_x)

    @classmethod
    def from_json(cls, data: dict) -> BGNBDProcess:
        out = cls()
        out.model = BGNBD.from_params(*(data["params"][k] for k in ("r", "alpha", "a", "b")))
        out._restore(data)
        return out

    def _restore(self, data: dict) -> None:
        self.params_, self.se_ = data["params"], data.get("se", {})
        self.log_likelihood_ = data.get("log_likelihood")
        self.converged_ = data.get("converged", True)
        self.at_bound_ = data.get("at_bound", False)


class ParetoProcess(_Weekly):
    name = "pareto_nbd"

    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> ParetoProcess:
        x, tx, big_t, _ = self._fit_rows(stats)
        self.model = ParetoNBD().fit(x, tx, big_t, with_se=with_se)
        self._attributes()
        return self

    def expected_frequency(self, n, max_x, rng) -> np.ndarray:
        r, alpha, s, beta = (self.params_[k] for k in ("r", "alpha", "s", "beta"))
        lam = rng.gamma(r, 1.0 / alpha, n.size)
        life = np.minimum(rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n.size)), n / WEEK)
        return _bins(rng.poisson(lam * life), max_x)

    @classmethod
    def from_json(cls, data: dict) -> ParetoProcess:
        out = cls()
        out.model = ParetoNBD.from_params(data["params"])
        BGNBDProcess._restore(out, data)
        return out


class MBGCNBDProcess(_Weekly):
    name = "mbgcnbd"

    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> MBGCNBDProcess:
        x, tx, big_t, keep = self._fit_rows(stats)
        litt = stats["litt"].to_numpy(np.float64)[keep] - x * np.log(WEEK)
        self.model = MBGCNBD().fit(x, tx, big_t, litt, with_se=with_se)
        self._attributes()
        self.params_ = {**self.model.params_, "k": float(self.model.k_)}
        self.se_ = {**self.model.se_, "k": float("nan")}
        return self

    def _expected_weeks(self, t, x, tx, big_t) -> np.ndarray:
        return self.model.expected_purchases(t, x, tx, np.maximum(big_t, 1e-9))

    def expected_frequency(self, n, max_x, rng) -> np.ndarray:
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        k = self.model.k_
        lam = rng.gamma(r, 1.0 / alpha, n.size)
        stops = rng.geometric(np.clip(rng.beta(a, b, n.size), 1e-12, 1)) - 1  # may stop at 0
        return _bins(np.minimum(rng.poisson(lam * n / WEEK) // k, stops), max_x)

    @classmethod
    def from_json(cls, data: dict) -> MBGCNBDProcess:
        out = cls()
        params = {k: v for k, v in data["params"].items() if k != "k"}
        out.model = MBGCNBD.from_params(params, int(data["params"]["k"]))
        BGNBDProcess._restore(out, data)
        return out


def _bins(counts: np.ndarray, max_x: int) -> np.ndarray:
    return np.bincount(np.minimum(counts, max_x).astype(np.int64), minlength=max_x + 1).astype(
        np.float64
    )


# --------------------------------------------------------------------------- daily BG/BB


class DailyProcess(Process):
    """BG/BB on days (``activity="off"``) or the twin with activity (:class:`TwinModel`)."""

    def __init__(self, activity: str = "off") -> None:
        self.activity = activity
        self.name = "bgbb_days" if activity == "off" else "twin"

    @classmethod
    def of(cls, model: TwinModel) -> DailyProcess:
        """A fitted :class:`TwinModel` behind the process interface."""
        out = cls(model.activity_)
        out.model = model
        out._attributes()
        return out

    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> DailyProcess:
        use_leave = self.activity != "off"
        model = TwinModel(activity=self.activity, use_leave=use_leave)
        self.model = model.fit(stats, with_se=with_se)
        self._attributes()
        return self

    def _attributes(self) -> None:
        m = self.model
        self.name = "twin" if m.presence_ else "bgbb_days"
        self.params_, self.se_, self.ci95_ = m.params_, m.se_, m.ci95_
        self.log_likelihood_ = getattr(m, "log_likelihood_", None)  # None: not fitted here
        self.converged_ = getattr(m, "converged_", True)
        self.at_bound_ = getattr(m, "at_bound_", False)

    def expected(self, stats: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
        return self.model.expected_purchases(np.asarray(ends), stats)

    def state(self, stats: pd.DataFrame) -> pd.DataFrame:
        return self.model.posterior(stats)[list(STATE_COLUMNS)]

    def expected_frequency(self, n, max_x, rng) -> np.ndarray:
        del rng
        return frequency_distribution(self.model.params_, self.model.presence_, n, max_x)

    def expected_from_state(self, state: pd.DataFrame, n, ends) -> np.ndarray:
        return expected_purchases(self.model.params_, self.model.presence_,
                                  state["p_buying"].to_numpy(), state["p_mean"].to_numpy(),
                                  n, ends)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        m = self.model
        return {
            "process": self.name,
            "name": self.label,
            "time_unit": "days",
            "presence": m.presence_,
            "activity": m.activity_,
            "leaves": m.leaves_,
            "params": m.params_,
            "se": m.se_,
            "ci95": m.ci95_,
            "free_names": list(m.free_names_),
            "cov_free": m.cov_free_.tolist(),
            "log_likelihood": m.log_likelihood_,
            "converged": m.converged_,
            "at_bound": m.at_bound_,
            "n_users": m.n_users_,
            "n_patterns": m.n_patterns_,
            "population": m.population_summary(),
        }

    @classmethod
    def from_json(cls, data: dict) -> DailyProcess:
        cov = np.array(
            [[np.nan if v is None else v for v in row] for row in data["cov_free"]], np.float64
        )
        out = cls(activity=data["activity"])
        out.model = TwinModel.from_params(data["params"], cov, activity=data["activity"])
        out._attributes()
        out.log_likelihood_ = data.get("log_likelihood")
        out.converged_ = data.get("converged", True)
        out.at_bound_ = data.get("at_bound", False)
        return out


CANDIDATES = ("bgnbd", "pareto_nbd", "mbgcnbd", "bgbb_days", "twin")
_CLASSES = {"bgnbd": BGNBDProcess, "pareto_nbd": ParetoProcess, "mbgcnbd": MBGCNBDProcess}


def make_process(name: str, activity: str = "rate") -> Process:
    """An unfitted process by name (``twin`` uses the given activity mode)."""
    if name in _CLASSES:
        return _CLASSES[name]()
    if name == "bgbb_days":
        return DailyProcess("off")
    if name == "twin":
        return DailyProcess(activity)
    raise ValueError(f"unknown process {name!r}; expected one of {', '.join(CANDIDATES)}")


def process_from_json(data: dict) -> Process:
    """A fitted process from its ``to_json`` (a twin folder's ``twin.json`` ``model``); folders
    written before the model choice have no ``process`` key and are the daily twin."""
    name = data.get("process", "twin")
    if name in _CLASSES:
        return _CLASSES[name].from_json(data)
    return DailyProcess.from_json(data)


def has_activity(stats: pd.DataFrame) -> bool:
    """Whether the log has evidence only the twin can use (sightings or recorded leaves)."""
    return bool(
        (stats["t_a"] > stats["t_x"]).any() or (stats["y"] > 0).any()
        or (stats["dead_at"] >= 0).any()
    )  # fmt: skip
