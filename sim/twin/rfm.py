"""Per-user sufficient statistics of an event log: what the twin and BG/NBD are fitted on.

Time is in whole days. A user's **birth** is the date of its first event of any kind in the
calibration period (its ``join`` if that comes first — the usual case). The days after the
birth day up to the calibration end are the user's *opportunities* ``1 … n``; on each the user
may buy (at most once: a *purchase day* is a day with one or more purchases, their amounts
summed). With ``b`` the birth date and ``c`` the calibration end:

============  ===============================================================================
``n``         ``c − b``: opportunities observed (the user's age in days; BG/NBD's ``T``)
``x``         purchase days in (b, c] (BG/NBD's ``frequency``: purchases after the first event)
``t_x``       offset of the last purchase day from ``b`` (0 if ``x`` = 0; BG/NBD's ``recency``)
``y``         days in (b, c] without a purchase on which the user was *seen* (any event but a
              purchase or a leave: active, open, message, a later join)
``t_a``       offset of the last day with *any* event except ``leave`` (≥ ``t_x``): the user was
              alive then — evidence BG/NBD cannot use
``dead_at``   offset of an observed ``leave`` not followed by any later event (−1 if none)
============  ===============================================================================

plus what the twin population and the spend model need: purchase days and spend including the
birth day, mean spend of the ``x`` counted purchase days, active days, the last day seen and a
32-day bitmask of recent activity, and ``litt``: the sum of the log gaps (days) between
consecutive counted purchase days, the first from the birth (MBG/CNBD-k's regularity statistic).

**The price ladder.** A paid-knowledge business sells up a ladder (a ¥9.9 camp, then a course,
then a membership), so what a purchase costs depends on how many the user made before. Each
calibration purchase day gets its *order* (1 for the user's first, 2 for the second, …); the
ladder's steps are runs of orders whose purchase days have indistinguishable mean spend
(:func:`price_ladder`), each step's level the mean spend of its purchase days.
``ladder_level`` is the mean level of the user's ``x`` counted purchase days (what its
``mean_spend`` reflects). The steps and the reference level (the mean level of all counted
purchase days) are in ``frame.attrs["price_ladder"]``.

With an ``until`` date, the holdout columns count purchase days and spend in (c, until] for the
backtest.

A leave followed by later events (the user came back) is not a death; the birth is not reset.
Users first seen after ``c`` are not in the calibration population (neither model can forecast
them); :func:`holdout_outsiders` counts them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAT_COLUMNS = (
    "user_id", "birth", "n", "x", "y", "t_x", "t_a", "dead_at", "purchase_days", "purchases",
    "spend", "spend_repeat", "mean_spend", "first_purchase", "last_purchase", "active_days",
    "last_seen", "recent_bits", "ladder_level", "litt",
)  # fmt: skip
MIN_LADDER_DAYS = 30  # purchase days needed for an order to have its own ladder level
LADDER_SPLIT_SE = 4.0  # an order is its own step only if its mean differs by more SEs than this
HOLDOUT_COLUMNS = ("holdout_purchases", "holdout_spend")
RECENT_DAYS = 32
_ALIVE_EVENTS = ("purchase", "active", "open", "message", "join")
_DAY_NS = 86_400 * 10**9
_KEY = 1 << 32  # (user code, day) packed into one int64


def to_day(value: object) -> int:
    """Whole days since 1970-01-01 of a date (string, date, Timestamp); time of day ignored."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.normalize().value // _DAY_NS)


def from_day(day: np.ndarray | int) -> pd.DatetimeIndex | pd.Timestamp:
    """Dates (midnight) from whole days since 1970-01-01: the inverse of :func:`to_day`."""
    if np.isscalar(day):
        return pd.Timestamp(int(day) * _DAY_NS)
    return pd.to_datetime(np.asarray(day, dtype=np.int64) * _DAY_NS)


def _event_days(events: pd.DataFrame) -> np.ndarray:
    dates = events["date"].to_numpy(dtype="datetime64[ns]")
    return dates.astype(np.int64) // _DAY_NS


def _check_events(events: pd.DataFrame) -> None:
    missing = [c for c in ("user_id", "date", "event", "amount") if c not in events.columns]
    if missing:
        raise ValueError(
            f"event frame lacks column(s) {missing}; expected the columns of "
            "sim.twin.events.load_events (user_id, timestamp, date, event, amount)"
        )


def user_statistics(
    events: pd.DataFrame, calibration_end: object, until: object | None = None
) -> pd.DataFrame:
    """One row per user first seen on or before ``calibration_end``, sorted by user_id.

    Parameters
    ----------
    events
        The ``events`` frame of an :class:`~sim.twin.events.EventLog` (columns user_id, date,
        event, amount).
    calibration_end
        Last day of the calibration period (inclusive); later events are not used except for
        the holdout columns.
    until
        Optional end of the holdout period (inclusive): adds ``holdout_purchases`` (purchase
        days in (calibration_end, until]) and ``holdout_spend``.

    Returns
    -------
    pandas.DataFrame
        The columns in :data:`STAT_COLUMNS` (see the module docstring), plus
        :data:`HOLDOUT_COLUMNS` when ``until`` is given.
    """
    _check_events(events)
    cal = to_day(calibration_end)
    end = None if until is None else to_day(until)
    if end is not None and end <= cal:
        raise ValueError(f"until ({until}) must be after the calibration end ({calibration_end})")
    day = _event_days(events)
    codes, ids = pd.factorize(events["user_id"].astype("string"), sort=True)
    event = events["event"].astype(str).to_numpy()
    amount = events["amount"].to_numpy(dtype=np.float64)

    in_cal = day <= cal
    users = np.unique(codes[in_cal])
    n_all = len(ids)
    birth = _group_min(codes[in_cal], day[in_cal], n_all)
    stats, ladder = _calibration_stats(codes, day, event, amount, in_cal, birth, cal, n_all)
    frame = pd.DataFrame(
        {"user_id": pd.array(np.asarray(ids)[users], dtype="string"), **_take(stats, users)}
    )
    frame.attrs["price_ladder"] = ladder
    if end is not None:
        hold = (day > cal) & (day <= end)
        hp, hs = _purchase_day_totals(codes[hold], day[hold], event[hold], amount[hold], n_all)
        frame["holdout_purchases"] = hp[users]
        frame["holdout_spend"] = hs[users]
    return frame


def _take(stats: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name, values in stats.items():
        out[name] = values[rows]
    for name in ("birth", "first_purchase", "last_purchase", "last_seen"):
        days = out[name]
        dates = from_day(np.where(days == _NONE, 0, days))
        out[name] = pd.Series(dates).where(days != _NONE).to_numpy(dtype="datetime64[ns]")
    return out


_NONE = np.iinfo(np.int64).min


def _group_min(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, codes, values)
    return out


def _group_max(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, _NONE, dtype=np.int64)
    np.maximum.at(out, codes, values)
    return out


def _purchase_days(
    codes: np.ndarray, day: np.ndarray, event: np.ndarray, amount: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, day) purchase days and their summed spend: (codes, days, spend)."""
    buy = event == "purchase"
    frame = pd.DataFrame({"c": codes[buy], "d": day[buy], "a": np.nan_to_num(amount[buy])})
    per_day = frame.groupby(["c", "d"], sort=True)["a"].sum()
    index = per_day.index
    return (
        index.get_level_values(0).to_numpy(np.int64),
        index.get_level_values(1).to_numpy(np.int64),
        per_day.to_numpy(np.float64),
    )


def _purchase_day_totals(
    codes: np.ndarray, day: np.ndarray, event: np.ndarray, amount: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    c, _, spend = _purchase_days(codes, day, event, amount)
    counts = np.bincount(c, minlength=size).astype(np.int64)
    return counts, np.bincount(c, weights=spend, minlength=size)


def _calibration_stats(
    codes: np.ndarray,
    day: np.ndarray,
    event: np.ndarray,
    amount: np.ndarray,
    in_cal: np.ndarray,
    birth: np.ndarray,
    cal: int,
    size: int,
) -> tuple[dict[str, np.ndarray], dict | None]:
    """Per-user calibration statistics (indexed by user code) and the price ladder."""
    codes, day, event, amount = codes[in_cal], day[in_cal], event[in_cal], amount[in_cal]
    is_buy = event == "purchase"
    purchases = np.bincount(codes[is_buy], minlength=size).astype(np.int64)
    pc, pd_, pspend = _purchase_days(codes, day, event, amount)
    after_birth = pd_ > birth[pc]
    purchase_days = np.bincount(pc, minlength=size).astype(np.int64)
    spend = np.bincount(pc, weights=pspend, minlength=size)
    x = np.bincount(pc[after_birth], minlength=size).astype(np.int64)
    spend_repeat = np.bincount(pc[after_birth], weights=pspend[after_birth], minlength=size)
    first_purchase = _group_min(pc, pd_, size)
    first_purchase[first_purchase == np.iinfo(np.int64).max] = _NONE
    last_purchase = _group_max(pc, pd_, size)

    alive_evidence = np.isin(event, _ALIVE_EVENTS)
    last_seen = _group_max(codes[alive_evidence], day[alive_evidence], size)
    last_seen = np.where(last_seen == _NONE, birth, last_seen)
    is_leave = event == "leave"
    last_leave = _group_max(codes[is_leave], day[is_leave], size)
    dead = (last_leave != _NONE) & (last_leave >= last_seen)

    activity = np.isin(event, ("active", "open", "message", "join"))
    act = pd.DataFrame({"c": codes[activity], "d": day[activity]}).drop_duplicates()
    ac, ad = act["c"].to_numpy(np.int64), act["d"].to_numpy(np.int64)
    active_days = np.bincount(ac, minlength=size).astype(np.int64)
    buy_key = pc * _KEY + pd_
    seen = (ad > birth[ac]) & ~np.isin(ac * _KEY + ad, buy_key)
    y = np.bincount(ac[seen], minlength=size).astype(np.int64)

    safe_birth = np.where(birth > cal, cal, birth)
    litt = _log_gaps(pc, pd_, after_birth, safe_birth, size)
    t_x = np.where(x > 0, last_purchase - safe_birth, 0)
    ladder, level = price_ladder(pc, pspend, after_birth)
    level_sum = np.bincount(pc[after_birth], weights=level[after_birth], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_spend = np.where(x > 0, spend_repeat / np.maximum(x, 1), np.nan)
        ladder_level = np.where(x > 0, level_sum / np.maximum(x, 1), np.nan)
    return {
        "birth": safe_birth,
        "n": (cal - safe_birth).astype(np.int64),
        "x": x,
        "y": y,
        "t_x": t_x.astype(np.int64),
        "t_a": (last_seen - safe_birth).astype(np.int64),
        "dead_at": np.where(dead, last_leave - safe_birth, -1).astype(np.int64),
        "purchase_days": purchase_days,
        "purchases": purchases,
        "spend": spend,
        "spend_repeat": spend_repeat,
        "mean_spend": mean_spend,
        "first_purchase": first_purchase,
        "last_purchase": last_purchase,
        "active_days": active_days,
        "last_seen": last_seen,
        "recent_bits": _recent_bits(codes[alive_evidence], day[alive_evidence], cal, size),
        "ladder_level": ladder_level,
        "litt": litt,
    }, ladder


def _log_gaps(pc, pd_, after_birth, birth, size: int) -> np.ndarray:
    """Σ log(days between consecutive purchase days) over each user's x counted purchase days,
    the first gap measured from the birth (MBG/CNBD-k's ``litt``, in log days)."""
    previous = np.r_[-1, pd_[:-1]]
    same_user = np.r_[False, pc[1:] == pc[:-1]]
    previous = np.where(same_user, np.maximum(previous, birth[pc]), birth[pc])
    gap = np.maximum(pd_ - previous, 1).astype(np.float64)
    return np.bincount(pc[after_birth], weights=np.log(gap[after_birth]), minlength=size)


def purchase_order(codes: np.ndarray) -> np.ndarray:
    """1-based rank of each purchase day within its user (``codes`` sorted, days sorted within)."""
    if codes.size == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, codes.size])
    return np.arange(codes.size) - np.repeat(starts, sizes) + 1


def price_ladder(
    codes: np.ndarray, spend: np.ndarray, counted: np.ndarray
) -> tuple[dict | None, np.ndarray]:
    """The price ladder of the calibration purchase days (module docstring) and each day's level.

    Orders from the top one with :data:`MIN_LADDER_DAYS` purchase days at or above it are pooled
    first; then, going down, an order joins the step above it unless their mean spends differ by
    more than :data:`LADDER_SPLIT_SE` standard errors (Welch), so sampling noise in a flat
    business gives a single step. Returns ``({"starts", "levels", "days", "reference_level"},
    level of each purchase day)``, ``starts`` the first order of each step; the ladder is None
    (and every level NaN) when there is no purchase day.
    """
    order = purchase_order(codes)
    if order.size == 0:
        return None, np.full(0, np.nan)
    at_or_above = np.cumsum(np.bincount(order)[::-1])[::-1]  # days of order ≥ j, j = 0 …
    enough = np.flatnonzero(at_or_above >= MIN_LADDER_DAYS)
    top = max(int(enough.max()) if enough.size else 1, 1)
    clipped = np.minimum(order, top)
    moments = [np.bincount(clipped, weights=w, minlength=top + 1)[1:]
               for w in (None, spend, spend**2)]  # fmt: skip
    steps = [[top, *(m[top - 1] for m in moments)]]  # [first order, days, Σ spend, Σ spend²]
    for j in range(top - 1, 0, -1):
        this = [m[j - 1] for m in moments]
        if _same_level(this, steps[-1][1:]):
            steps[-1] = [j, *(a + b for a, b in zip(this, steps[-1][1:], strict=True))]
        else:
            steps.append([j, *this])
    steps.reverse()
    starts = np.array([st[0] for st in steps], np.int64)
    days = np.array([st[1] for st in steps], np.int64)
    levels = np.array([st[2] / st[1] for st in steps])
    level = levels[np.searchsorted(starts, clipped, side="right") - 1]
    reference = float(level[counted].mean()) if counted.any() else float(level.mean())
    ladder = {"starts": starts.tolist(), "levels": levels.tolist(), "days": days.tolist(),
              "reference_level": reference}  # fmt: skip
    return ladder, level


def _same_level(a: list[float], b: list[float]) -> bool:
    """Whether two groups of purchase days (days, Σ spend, Σ spend²) have equal mean spend."""
    (n_a, s_a, q_a), (n_b, s_b, q_b) = a, b
    mean_a, mean_b = s_a / n_a, s_b / n_b
    var_a = max(q_a / n_a - mean_a**2, 0.0) * n_a / max(n_a - 1, 1)
    var_b = max(q_b / n_b - mean_b**2, 0.0) * n_b / max(n_b - 1, 1)
    se = np.sqrt(var_a / n_a + var_b / n_b)
    gap = abs(mean_a - mean_b)
    return gap <= LADDER_SPLIT_SE * se + 1e-9 * max(abs(mean_a), abs(mean_b), 1.0)


def _recent_bits(codes: np.ndarray, day: np.ndarray, cal: int, size: int) -> np.ndarray:
    """Bit k set when the user had an event (other than leave) k days before ``cal``."""
    ago = cal - day
    recent = (ago >= 0) & (ago < RECENT_DAYS)
    bits = np.zeros(size, dtype=np.uint32)
    np.bitwise_or.at(
        bits, codes[recent], np.left_shift(np.uint32(1), ago[recent].astype(np.uint32))
    )
    return bits


def holdout_outsiders(events: pd.DataFrame, calibration_end: object, until: object) -> dict:
    """Users first seen in (calibration_end, until] and their purchase days: not forecastable."""
    _check_events(events)
    cal, end = to_day(calibration_end), to_day(until)
    day = _event_days(events)
    codes, _ = pd.factorize(events["user_id"].astype("string"))
    first = _group_min(codes, day, int(codes.max()) + 1 if codes.size else 0)
    late = first[codes] > cal
    hold = late & (day <= end)
    buy = hold & (events["event"].astype(str).to_numpy() == "purchase")
    days = pd.DataFrame({"c": codes[buy], "d": day[buy]}).drop_duplicates()
    return {"users": int(np.unique(codes[hold]).size), "purchase_days": int(len(days))}
