"""A twin as the simulator's initial base: one simulated user per real user, where it is now.

:func:`twin_population` returns the same columns as :func:`sim.world.arrivals.initial_base`, built
from a twin folder (``population.twin`` in a config). Day 0 of the run is the day after the
calibration end.

* **Identity.** uid = the twin's hash of the real ``user_id`` (``users.parquet`` keeps the
  mapping), so a real user's simulated luck is its own and joins back to the real id.
* **History, from the log.** join day (the birth), last active day (the last event other than a
  leave), last purchase day, purchases to date (purchase events in the calibration period), prior
  revenue, the ladder step (one step per purchase, capped at the top), activity of the last 32
  days (bitmask), trust = the channel's trust on arrival + 0.05 per purchase (at most 3, as for
  the generated base) and a finished course if it ever paid.
* **Still there?** A keyed uniform (seed, ``Purpose.TWIN``, uid) against the twin's
  P(present): users drawn gone (a recorded leave gives P(present) = 0) start churned on day 0
  (``churn_day`` 0, initial stage churned; outside any group) and are never simulated.
* **Propensities, from the posterior** (docs/TWIN.md §Twin population derives them from
  ``sim/world/behaviour.py``): ``buy_logit_offset`` so that on day 0 the simulator's chance of a
  purchase, P(active) × σ(ℓ_buy), equals the twin's P(buying | present) · E[p | buying]; and
  ``churn_multiplier`` so that the expected churn hazard on day 0 equals E[θ | present]. Where
  the twin's purchase rate is not reachable with the user's drawn activity (it would need more
  than ``MAX_BUY_PROB`` per active day), its engagement is raised just enough.
* **Attributes the log lacks** (channel, age, occupation, city tier, income, preference,
  engagement) come from the population spec's keyed draws, exactly as for generated users; a
  users table given to ``siyu twin fit`` replaces the ones it has (``attributes.parquet``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy  # submodules load on first use: a run that builds no twin needs none

from sim.rng import Purpose, uniforms
from sim.twin.folder import Twin, TwinFolderError, load_twin
from sim.twin.rfm import to_day
from sim.world.arrivals import initial_channels, user_attributes
from sim.world.lifecycle import NO_DAY
from sim.world.params import PREFERENCES, WorldParams
from sim.world.population_spec import CHANNELS, OCCUPATIONS, PopulationSpec

MAX_BUY_PROB = 0.5  # highest purchase probability per active day a twin user is given
MULTIPLIER_BOUNDS = (1e-3, 1e3)
TRUST_PER_PURCHASE = 0.05
_PRESENCE_DAY = 1  # the keyed draw's day slot for "still there?"
_ATTRIBUTE_CODES = {
    "channel": CHANNELS,
    "occupation": OCCUPATIONS,
    "preference": PREFERENCES,
}


def twin_population(
    twin_dir: Path | str, spec: PopulationSpec, world: WorldParams, seed: int
) -> dict[str, np.ndarray]:
    """The initial base of a run from a twin folder (see the module docstring).

    Parameters
    ----------
    twin_dir
        A folder written by ``siyu twin fit``.
    spec, world, seed
        The run's population spec (for the attribute draws), world and seed.

    Returns
    -------
    dict
        Column name → array, one row per real user in the twin (sorted by user id).
    """
    try:
        twin = load_twin(twin_dir)
    except TwinFolderError as exc:
        raise TwinFolderError(f"population.twin: {exc}") from None
    users = twin.users
    uids = users["uid"].to_numpy(np.int64).astype(np.uint64)
    known = _known_attributes(twin)
    channel = _channel(spec, seed, uids, known)
    cols = user_attributes(spec, seed, uids, channel)
    _apply_known(cols, known, spec)
    day0 = to_day(twin.calibration_end) + 1
    cols.update(_history(users, day0, world, cols))
    present = uniforms(seed, Purpose.TWIN, _PRESENCE_DAY, uids) < users["p_present"].to_numpy()
    cols["churn_day"] = np.where(present, -1, 0).astype(np.int32)
    offset, multiplier, engagement_logit = propensities(users, cols, world, present)
    cols["buy_logit_offset"] = offset
    cols["churn_multiplier"] = multiplier
    cols["engagement_logit"] = engagement_logit
    cols["engagement"] = scipy.special.expit(engagement_logit).astype(np.float32)
    return cols


# --------------------------------------------------------------------------- attributes


def _known_attributes(twin: Twin) -> pd.DataFrame | None:
    """Known attributes aligned with the twin's users (None if there is no users table)."""
    if twin.attributes is None:
        return None
    table = twin.attributes.set_index("user_id")
    return table.reindex(twin.users["user_id"]).reset_index(drop=True)


def _codes(
    known: pd.DataFrame, column: str, names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, given) of a categorical attribute; unknown values are an error naming them."""
    values = known[column]
    given = values.notna().to_numpy()
    text = values[given].astype(str).str.strip().str.lower()
    bad = sorted(set(text) - set(names))
    if bad:
        raise ValueError(
            f"users table column {column!r}: unknown value(s) {bad[:5]}; expected one of "
            f"{list(names)}"
        )
    codes = np.zeros(len(values), np.int8)
    codes[given] = [names.index(v) for v in text]
    return codes, given


def _channel(spec: PopulationSpec, seed: int, uids: np.ndarray, known) -> np.ndarray:
    channel = initial_channels(spec, seed, uids)
    if known is not None and "channel" in known:
        codes, given = _codes(known, "channel", CHANNELS)
        channel[given] = codes[given]
    return channel


def _apply_known(cols: dict[str, np.ndarray], known, spec: PopulationSpec) -> None:
    """Replace drawn attributes by the users table's values where it has them."""
    if known is None:
        return
    for column in ("occupation", "preference"):
        if column in known:
            codes, given = _codes(known, column, _ATTRIBUTE_CODES[column])
            cols[column][given] = codes[given]
    numeric = {
        "age": (np.int16, 14, 90),
        "city_tier": (np.int8, 1, 4),
        "income": (np.float32, 0, None),
    }
    for column, (dtype, lo, hi) in numeric.items():
        if column not in known:
            continue
        values = pd.to_numeric(known[column], errors="coerce")
        given = values.notna().to_numpy()
        raw = known[column].notna().to_numpy()
        outside = given & ((values < lo) | ((values > hi) if hi is not None else False)).to_numpy()
        if (raw & ~given).any() or outside.any():
            raise ValueError(
                f"users table column {column!r}: expected numbers in [{lo}, {hi or '∞'}]; got "
                f"{known[column][(raw & ~given) | outside].head(3).tolist()}"
            )
        cols[column][given] = values[given].to_numpy().astype(dtype)
    if "income" in known:
        lo, hi = spec.price_sensitivity_bounds
        cols["price_sensitivity"] = np.clip(
            (spec.price_sensitivity_reference_income / cols["income"])
            ** spec.price_sensitivity_income_exponent,
            lo,
            hi,
        ).astype(np.float32)


# --------------------------------------------------------------------------- history


def _days(dates: pd.Series, day0: int) -> np.ndarray:
    """Day numbers relative to day 0 (NO_DAY for missing dates)."""
    values = pd.to_datetime(dates).to_numpy("datetime64[D]")
    out = np.full(values.shape, NO_DAY, np.int64)
    ok = ~np.isnat(values)
    out[ok] = values[ok].astype(np.int64) - day0
    return out.astype(np.int32)


def _history(users: pd.DataFrame, day0: int, world: WorldParams, cols) -> dict[str, np.ndarray]:
    purchases = users["purchases"].to_numpy(np.int64)
    n_products = len(world.products)
    ladder = np.minimum(purchases, n_products).astype(np.int8)
    last_active = _days(users["last_seen"], day0)
    recent = users["recent_bits"].to_numpy(np.int64).astype(np.uint64)
    trust = cols["trust"] + TRUST_PER_PURCHASE * np.minimum(purchases, 3)
    return {
        "join_day": _days(users["birth"], day0),
        "last_active": last_active,
        "last_touch": last_active,
        "ladder": ladder,
        "purchases": purchases.astype(np.int32),
        "prior_purchases": purchases.astype(np.int32),
        "prior_revenue": users["spend"].to_numpy(np.float64).astype(np.float32),
        "last_purchase": _days(users["last_purchase"], day0),
        "trust": np.clip(trust, 0, 1).astype(np.float32),
        "active_bits": ((recent << np.uint64(1)) & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        "progress": np.where(purchases > 0, 1.0, 0.0).astype(np.float32),
    }


# --------------------------------------------------------------------------- propensities


def _activity_logit(cols, world: WorldParams, silence: np.ndarray) -> np.ndarray:
    """The simulator's activity logit on day 0 without any operation (MODEL.md §5.4): no group
    vitality, no promotion or contact; forgotten if silent for more than forget_after_days
    (the last touch is the last active day)."""
    b = world.behaviour
    habit = b.habit_decay_per_day * np.minimum(np.maximum(silence - 1, 0), b.habit_decay_cap_days)
    forgotten = np.where(silence > b.forget_after_days, b.forget_penalty, 0.0)
    trust = cols["trust"].astype(np.float64)
    return (
        b.active_intercept
        + b.active_engagement * cols["engagement_logit"].astype(np.float64)
        + b.active_trust * (trust - 0.5)
        - habit
        - forgotten
    )


def _churn_hazard(world: WorldParams, trust: np.ndarray, silence: np.ndarray) -> np.ndarray:
    """The simulator's churn hazard with multiplier 1 and no message load (MODEL.md §5.6)."""
    b = world.behaviour
    ramp = np.minimum(silence, b.churn_silence_ramp_days) / b.churn_silence_ramp_days
    return (
        b.churn_base_hazard * b.churn_silence_ratio**ramp * np.exp(-b.churn_trust * (trust - 0.5))
    )


def propensities(
    users: pd.DataFrame, cols: dict[str, np.ndarray], world: WorldParams, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(buy_logit_offset, churn_multiplier, engagement_logit) matching the twin on day 0.

    With a = σ(activity logit) on day 0, ℓ₀ = logit(base conversion of the next step) +
    purchase_trust·(T − 0.5) (list price = reference price, no coupon) and the target rate
    r = P(buying | present) · E[p | buying]: the next step's ``min_gap_days`` G makes a user
    wait G − 1 days after each purchase, so the daily chance when eligible must be
    π = r / (1 − r (G − 1)) for a long-run rate r (a renewal cycle of G − 1 + 1/π days); the
    offset solves a · σ(ℓ₀ + offset) = π, capped at ``MAX_BUY_PROB`` per active day (the
    engagement is raised until a · MAX_BUY_PROB reaches r). The churn
    multiplier is E[θ | present] / (a · h(0) + (1 − a) · h(S₀ + 1)): h is the hazard with
    multiplier 1 at a silence of 0 (active today) or S₀ + 1 (not), S₀ the silence before day
    0; it is 1 when the twin has no leaving clock (no activity or leaves in the log).
    """
    b = world.behaviour
    silence = -cols["last_active"].astype(np.float64)  # days since last active, seen from day 0
    present_p = np.maximum(users["p_present"].to_numpy(np.float64), 1e-12)
    target = np.clip(
        users["p_buying"].to_numpy(np.float64) / present_p * users["p_mean"].to_numpy(np.float64),
        1e-9,
        MAX_BUY_PROB * 0.999,
    )
    eng_logit = cols["engagement_logit"].astype(np.float64)
    act_logit = _activity_logit(cols, world, silence)
    needed = scipy.special.logit(
        target / MAX_BUY_PROB
    )  # activity logit that makes the cap just reachable
    raise_by = np.where(present, np.maximum(needed - act_logit, 0.0), 0.0)
    eng_logit = eng_logit + raise_by / max(b.active_engagement, 1e-9)
    active = scipy.special.expit(act_logit + raise_by)

    n_products = len(world.products)
    step = np.minimum(cols["ladder"].astype(np.int64), n_products - 1)
    base = np.array([scipy.special.logit(p.base_daily_conversion) for p in world.products])[step]
    trust = cols["trust"].astype(np.float64)
    wait = np.array([max(p.min_gap_days - 1, 0) for p in world.products])[step]
    per_day = target / np.maximum(1.0 - target * wait, 1e-9)  # renewal: see docs/TWIN.md
    per_active = np.clip(per_day / active, 1e-9, MAX_BUY_PROB)
    offset = scipy.special.logit(per_active) - (base + b.purchase_trust * (trust - 0.5))

    leave = users["leave_mean"].to_numpy(np.float64)
    hazard = active * _churn_hazard(world, trust, np.zeros_like(silence)) + (
        1 - active
    ) * _churn_hazard(world, trust, silence + 1)
    multiplier = np.where(leave > 0, leave / hazard, 1.0)
    multiplier = np.clip(multiplier, *MULTIPLIER_BOUNDS)
    gone = ~present
    offset[gone], multiplier[gone] = 0.0, 1.0
    return offset.astype(np.float32), multiplier.astype(np.float32), eng_logit.astype(np.float32)
