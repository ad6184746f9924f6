"""Purchase logs with known answers, shaped like a real acquisition cohort.

Each user is acquired on a day uniform over the first ``spread_days`` (12 weeks, as CDNOW's
cohort: first purchases January–March) and makes its first purchase that day; its later
purchases follow one generator until the end of the log. Amounts follow the Gamma–Gamma spend
model (Gamma(p, ν), ν ~ Gamma(q, v) per user). Generators (parameters per week unless said):

============== ===================================================================================
``bgnbd``      λ ~ Gamma(r, α), p ~ Beta(a, b); Poisson purchases, dropout after each
``pareto_nbd`` λ ~ Gamma(r, α), μ ~ Gamma(s, β); Poisson purchases until an Exponential(μ) death
``bgbb_days``  p ~ Beta(α, β) a day, ω ~ Beta(γ, δ): each day dropout ω, then a purchase with p
``regular``    MBG/CNBD-k: Erlang-k gaps with stage rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b)
               after every purchase including the first
``mixture``    half the users ``bgnbd``, half ``regular``
============== ===================================================================================

Default parameters are CDNOW-like (sparse repeaters: 43–62% never repeat in 39 weeks).
Vectorised: a million users take seconds. Every draw comes from ``numpy.random.default_rng``
of the given seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULTS = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "bgbb_days": {"alpha": 0.3, "beta": 20.0, "gamma": 0.6, "delta": 120.0},
    "regular": {"k": 3, "r": 1.2, "alpha": 6.0, "a": 0.6, "b": 3.0},
}
GENERATORS = ("bgnbd", "pareto_nbd", "bgbb_days", "regular", "mixture")
SPEND = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader, Hardie & Lee (2005b), CDNOW
START = pd.Timestamp("2024-01-01")


def _purchase_times_poisson(rng, rate_per_day, span, stop_after=None):
    """(user index, day offset) of Poisson purchases on [0, span) per user, optionally keeping
    only each user's first ``stop_after`` purchases."""
    counts = rng.poisson(rate_per_day * span)
    user = np.repeat(np.arange(counts.size), counts)
    t = rng.random(user.size) * np.repeat(span, counts)
    order = np.lexsort((t, user))
    user, t = user[order], t[order]
    if stop_after is not None:
        rank = np.arange(user.size) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = rank < stop_after[user]
        user, t = user[keep], t[keep]
    return user, t


def _generate(kind: str, rng, users: int, span: np.ndarray, params: dict):
    if kind == "bgnbd":
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], users) / 7
        stops = rng.geometric(np.clip(rng.beta(params["a"], params["b"], users), 1e-12, 1))
        return _purchase_times_poisson(rng, lam, span, stops)
    if kind == "pareto_nbd":
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], users) / 7
        mu = rng.gamma(params["s"], 1.0 / params["beta"], users) / 7
        life = np.minimum(rng.exponential(1.0 / np.maximum(mu, 1e-300)), span)
        return _purchase_times_poisson(rng, lam, life)
    if kind == "bgbb_days":
        p = rng.beta(params["alpha"], params["beta"], users)
        omega = rng.beta(params["gamma"], params["delta"], users)
        alive_days = np.minimum(rng.geometric(np.clip(omega, 1e-12, 1)) - 1, span.astype(int))
        counts = rng.binomial(alive_days, p)
        user = np.repeat(np.arange(users), counts)
        # distinct days among the alive days: draw with replacement, merged as purchase days
        t = np.floor(rng.random(user.size) * np.repeat(alive_days, counts)) + 1
        return user, t
    if kind == "regular":
        k = int(params["k"])
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], users) / 7
        stops = rng.geometric(np.clip(rng.beta(params["a"], params["b"], users), 1e-12, 1)) - 1
        user, t = _purchase_times_poisson(rng, lam, span)  # Erlang stages
        rank = np.arange(user.size) - np.searchsorted(user, user, side="left") + 1
        keep = rank % k == 0
        user, t = user[keep], t[keep]
        order_in_user = rank[keep] // k
        keep = order_in_user <= stops[user]
        return user[keep], t[keep]
    raise ValueError(f"unknown generator {kind!r}; expected one of {', '.join(GENERATORS)}")


def synthetic_log(
    kind: str,
    users: int = 2400,
    *,
    seed: int = 0,
    weeks: int = 78,
    spread_days: int = 84,
    params: dict | None = None,
) -> pd.DataFrame:
    """An event log (user_id, date, event="purchase", amount) from one generator.

    ``weeks`` is the whole log's length from the first acquisition day (e.g. 39 calibration +
    39 holdout weeks); ``params`` override :data:`DEFAULTS` of the generator.
    """
    rng = np.random.default_rng(seed)
    birth = rng.integers(0, spread_days, users)
    span = (weeks * 7 - birth).astype(np.float64)
    if kind == "mixture":
        half = users // 2
        u1, t1 = _generate("bgnbd", rng, half, span[:half], DEFAULTS["bgnbd"])
        u2, t2 = _generate("regular", rng, users - half, span[half:], DEFAULTS["regular"])
        user, t = np.concatenate([u1, u2 + half]), np.concatenate([t1, t2])
    else:
        user, t = _generate(kind, rng, users, span, {**DEFAULTS[kind], **(params or {})})
    day = birth[user] + np.maximum(np.floor(t), 1).astype(np.int64)
    keep = day < weeks * 7
    user = np.concatenate([np.arange(users), user[keep]])
    day = np.concatenate([birth, day[keep]])
    nu = rng.gamma(SPEND["q"], 1.0 / SPEND["v"], users)
    amount = np.round(rng.gamma(SPEND["p"], 1.0 / nu[user]), 2)
    return pd.DataFrame(
        {
            "user_id": pd.array([f"u{u:07d}" for u in user], dtype="string"),
            "date": START + pd.to_timedelta(day, unit="D"),
            "event": "purchase",
            "amount": amount,
        }
    ).sort_values(["user_id", "date"], kind="stable", ignore_index=True)


def calibration_end(weeks: int = 39) -> pd.Timestamp:
    """The last calibration day after ``weeks`` weeks of the log."""
    return START + pd.Timedelta(days=weeks * 7 - 1)
