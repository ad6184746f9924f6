"""Event logs with known answers: generated from the twin's own model, or by the simulator.

* :func:`generate_log` draws users from the twin's generative process with parameters you choose
  (:class:`TruthParams`): a birth (``join``) day, p ~ Beta(α, β) purchase days, θ ~ Beta(γ, δ)
  daily dropout (with a ``leave`` event for a chosen share of the leavers), optional ``active``
  events on days the user is there, and Gamma–Gamma spend. Fitting it back must recover the
  parameters (tests/test_twin_fit.py); the benchmark uses it at a million users.
* :func:`simulate_event_log` runs the simulator on a config and records, besides the run's
  tables, who was active and who opened a message each day, so the log has the activity events a
  real private domain records; :func:`run_folder_events` exports what an existing run folder
  holds (joins, purchases, leaves — a run folder keeps no daily activity).

Logs come back as raw frames in the documented file schema (``user_id, timestamp, event,
amount``, docs/DATA.md); :func:`to_event_frame` gives the in-memory shape of
:func:`sim.twin.events.load_events` without a file round trip. Simulated day 0 is
``start_date``; users of the simulator's initial base are left out (their history before day 0 is
only a drawn sketch, not events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.simulation import Simulation
from sim.runs.folder import load_run
from sim.twin.events import EVENT_TYPES

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class TruthParams:
    """Parameters of :func:`generate_log`: the twin model's (see :mod:`sim.twin.model`) and the
    spend model's. ``kappa = None`` turns leaving off (plain BG/BB: only stopping buying)."""

    alpha: float = 0.6  # p ~ Beta(alpha, beta): daily purchase probability while buying
    beta: float = 40.0
    gamma: float = 0.8  # ω ~ Beta(gamma, delta): daily chance of stopping buying for good
    delta: float = 150.0
    kappa: float | None = 1.0  # θ ~ Beta(kappa, lam): daily chance of leaving the domain
    lam: float = 400.0
    epsilon: float = 2.0  # s ~ Beta(epsilon, zeta): seen on a present day without a purchase
    zeta: float = 30.0
    rho: float = 0.5  # share of leaves recorded as 'leave' events
    spend_p: float = 4.0
    spend_q: float = 3.0
    spend_v: float = 150.0

    def params(self) -> dict[str, float]:
        """The twin model's parameter names → values (leaving, activity, rho when present)."""
        out = {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "delta": self.delta}
        if self.kappa is not None:
            out.update(kappa=self.kappa, **{"lambda": self.lam})
        if self.epsilon > 0:
            out.update(epsilon=self.epsilon, zeta=self.zeta)
        if self.kappa is not None and self.rho > 0:
            out["rho"] = self.rho
        return out

    def spend(self) -> dict[str, float]:
        return {"p": self.spend_p, "q": self.spend_q, "v": self.spend_v}


def _bernoulli_days(
    rng: np.random.Generator, prob: np.ndarray, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(user, day) of the successes of independent Bernoulli(prob_i) trials on each day of
    [first_i, last_i], drawn as geometric gaps (exact, and cheap when prob is small)."""
    idx = np.flatnonzero((last >= first) & (prob > 0))
    t = first[idx] - 1
    p, end = prob[idx], last[idx]
    users, days = [], []
    while idx.size:
        t = t + rng.geometric(p)
        ok = t <= end
        idx, t, p, end = idx[ok], t[ok], p[ok], end[ok]
        users.append(idx)
        days.append(t)
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(days)


def generate_log(
    n_users: int,
    truth: TruthParams,
    *,
    start: str = "2024-01-01",
    birth_days: int = 180,
    end: str = "2024-12-31",
    seed: int = 0,
    id_prefix: str = "u",
) -> pd.DataFrame:
    """A raw event log from the twin's generative process with known parameters.

    Each user joins on a uniform day among the ``birth_days`` days from ``start``; on each later
    day it leaves (θ) or stops buying (ω) at the start of the day, then buys (p) if still
    present and buying, else is seen (s) on a present day without a purchase. Leaves are
    recorded with probability ρ.

    Parameters
    ----------
    n_users
        Users to generate.
    truth
        Parameters of the process and of what is recorded.
    start, birth_days, end
        Calendar: first day, how many days users join over, last day of the log (inclusive).
    seed
        Seed of the ``numpy.random.Generator`` (the only source of randomness).

    Returns
    -------
    pandas.DataFrame
        Columns user_id, timestamp, event, amount (purchases only), sorted by user and time.
    """
    rng = np.random.default_rng(seed)
    t0 = np.datetime64(pd.Timestamp(start).date(), "D")
    horizon = int((np.datetime64(pd.Timestamp(end).date(), "D") - t0) / _DAY)
    if horizon < 0 or birth_days < 1:
        raise ValueError("need end >= start and birth_days >= 1")
    birth = rng.integers(0, birth_days, n_users)
    p = rng.beta(truth.alpha, truth.beta, n_users)
    stop = rng.beta(truth.gamma, truth.delta, n_users)
    present_days = np.full(n_users, 10**9, np.int64)
    if truth.kappa is not None:
        present_days = rng.geometric(rng.beta(truth.kappa, truth.lam, n_users)) - 1
    buying_days = np.minimum(rng.geometric(stop) - 1, present_days)
    last_present = np.minimum(birth + present_days, horizon)
    nu = rng.gamma(truth.spend_q, 1.0 / truth.spend_v, n_users)

    buy_u, buy_d = _bernoulli_days(rng, p, birth + 1, np.minimum(birth + buying_days, horizon))
    parts = [(np.arange(n_users), birth, "join", np.nan)]
    parts.append((buy_u, buy_d, "purchase", np.round(rng.gamma(truth.spend_p, 1.0 / nu[buy_u]), 2)))
    if truth.epsilon > 0:
        seen = rng.beta(truth.epsilon, truth.zeta, n_users)
        act_u, act_d = _bernoulli_days(rng, seen, birth + 1, last_present)
        bought = np.isin(act_u * (1 << 32) + act_d, buy_u * (1 << 32) + buy_d)
        parts.append((act_u[~bought], act_d[~bought], "active", np.nan))
    left = birth + present_days <= horizon
    recorded = np.flatnonzero(left & (rng.random(n_users) < truth.rho))
    parts.append((recorded, (birth + present_days)[recorded], "leave", np.nan))
    width = len(str(max(n_users - 1, 1)))
    return _assemble(parts, t0, [f"{id_prefix}{i:0{width}d}" for i in range(n_users)], rng)


def _assemble(parts, t0: np.datetime64, ids: Sequence[str], rng) -> pd.DataFrame:
    users = np.concatenate([np.asarray(u, np.int64) for u, *_ in parts])
    days = np.concatenate([np.asarray(d, np.int64) for _, d, *_ in parts])
    kind = np.concatenate([np.full(len(u), EVENT_TYPES.index(e), np.int8) for u, _, e, _ in parts])
    amount = np.concatenate(
        [np.broadcast_to(np.asarray(a, np.float64), len(u)) for u, _, _, a in parts]
    )
    # a time of day keeps the order of a day's events: join first, leave last
    order_in_day = np.array([2, 1, 1, 1, 0, 3])[kind]
    seconds = order_in_day * 21_600 + (rng.integers(0, 21_600, users.size) if rng else 0)
    stamp = t0 + days.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    order = np.lexsort((stamp, users))
    id_array = np.asarray(ids, dtype=object)
    return pd.DataFrame(
        {
            "user_id": id_array[users[order]],
            "timestamp": pd.to_datetime(stamp[order]),
            "event": np.asarray(EVENT_TYPES, dtype=object)[kind[order]],
            "amount": amount[order],
        }
    )


def to_event_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The in-memory shape of ``load_events(...).events`` for a raw frame that is already valid
    (generated here): typed columns, ``date`` at midnight, sorted by user and time."""
    frame = pd.DataFrame(
        {
            "user_id": raw["user_id"].astype("string"),
            "timestamp": pd.to_datetime(raw["timestamp"], format="mixed").astype("datetime64[ns]"),
            "event": pd.Categorical(raw["event"], categories=list(EVENT_TYPES)),
            "amount": raw["amount"].astype(np.float64),
        }
    )
    frame.insert(2, "date", frame["timestamp"].dt.normalize())
    frame.loc[frame["event"] != "purchase", "amount"] = np.nan
    frame = frame.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    return frame


# --------------------------------------------------------------------------- from the simulator


def simulate_event_log(config, strategies=(), start_date: str = "2024-01-01") -> pd.DataFrame:
    """Run the simulator and return its event log (raw file schema).

    Records, for every user who arrived during the run: ``join`` on the arrival day, ``active``
    on each day the user was active, ``open`` on each day it opened a message, ``purchase``
    (amount = price paid) and ``leave`` on the churn day.
    """

    active: list[tuple[int, np.ndarray]] = []
    opened: list[tuple[int, np.ndarray]] = []
    sim = Simulation(config, list(strategies))

    def record(day: int) -> None:
        pop = sim.pop
        newcomers = pop.col("join_day") >= 0
        active.append((day, pop.col("uid")[newcomers & (pop.col("last_active") == day)]))
        opened.append((day, pop.col("uid")[newcomers & (pop.col("last_open") == day)]))

    sim.on_day_done = record
    tables = sim.run().tables
    return _log_from_tables(tables, start_date, {"active": active, "open": opened})


def run_folder_events(run_dir: str | Path, start_date: str = "2024-01-01") -> pd.DataFrame:
    """The event log (joins, purchases, leaves) of a finished run folder (raw file schema)."""

    run = load_run(run_dir)
    if "purchases" not in run.table_names:
        raise ValueError(f"run {run_dir} has no purchases table (output.purchases was off)")
    tables = {"users": run.table("users"), "purchases": run.table("purchases")}
    return _log_from_tables(tables, start_date, {})


def _log_from_tables(tables, start_date: str, daily: dict) -> pd.DataFrame:
    users = tables["users"]
    arrived = users[users["join_day"] >= 0]
    uid = arrived["user_id"].to_numpy(np.int64)
    buys = tables["purchases"]
    buys = buys[buys["user_id"].isin(uid)]
    left = arrived[arrived["churned"]]
    parts = [
        (uid, arrived["join_day"].to_numpy(np.int64), "join", np.nan),
        (buys["user_id"].to_numpy(np.int64), buys["day"].to_numpy(np.int64), "purchase",
         buys["price_paid"].to_numpy(np.float64)),
        (left["user_id"].to_numpy(np.int64), left["churn_day"].to_numpy(np.int64), "leave",
         np.nan),
    ]  # fmt: skip
    for event, chunks in daily.items():
        ids = [c for _, c in chunks]
        days = [np.full(len(c), d, np.int64) for d, c in chunks]
        if ids:
            parts.append(
                (np.concatenate(ids).astype(np.int64), np.concatenate(days), event, np.nan)
            )
    all_uids = np.unique(uid)
    mapped = [(np.searchsorted(all_uids, u), d, e, a) for u, d, e, a in parts]
    ids = [f"s{int(u)}" for u in all_uids]
    t0 = np.datetime64(pd.Timestamp(start_date).date(), "D")
    return _assemble(mapped, t0, ids, None)
