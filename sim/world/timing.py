"""Calendar and timing as numbers the behaviour step reads (issue 15, docs/MODEL.md §5.9).

* :func:`hour_fit_table` — each segment's (occupation's) hour-of-day response profile, peak = 1,
  as a *timing fit* ``profile(hour) − 0.5``: a push sent at an hour adds its fit to the user's
  inbox; the step turns the mean fit of today's messages into open and redeem odds. A push
  without an hour counts as an average hour (fit 0), so worlds that never name an hour behave
  as before.
* :func:`day_effects` — the per-day scalars of a whole run, computed once before it starts:
  weekday open and speaking logits, the payday lift (× price sensitivity in the step), the
  campaign demand logit, its post-campaign dip and its price factor.
* :func:`live_attendance` — who attends a live-stream session (keyed draw, hour-profile scaled).

Everything here is per day or per segment, never per user-day, so the step stays as fast as it
was (a handful of additions per user).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.calendar import date_of, day_of, weekday_of
from sim.world.params import OCCUPATION_NAMES, CalendarParams

HOURS = 24
NEUTRAL_FIT = 0.5
"""The profile value of an "average" hour: a push without an hour has fit 0."""

# indices of the per-day scalars (columns of day_effects)
DAY_OPEN, DAY_SPEAK, DAY_PAYDAY, DAY_DEMAND, DAY_PRICE_KEEP, DAY_TIMED = 0, 1, 2, 3, 4, 5
N_DAY_EFFECTS = 6
"""DAY_TIMED is set by the engine on the day itself: 1 when some message named an hour (the step
then reads the users' timing fits; otherwise it skips that read)."""


def hour_profile(cal: CalendarParams) -> np.ndarray:
    """float64[segment, hour]: each segment's response by hour, peak 1, floor ``hour_floor``.

    A waking-hours level (``hour_daytime_level``, 07:00-23:00) plus circular Gaussian bumps
    (hour, weight) of width ``hour_peak_width``, rescaled so its deepest trough is
    ``hour_floor`` and its highest peak 1."""
    hours = np.arange(HOURS, dtype=np.float64)
    out = np.empty((len(OCCUPATION_NAMES), HOURS))
    for k, name in enumerate(OCCUPATION_NAMES):
        curve = cal.hour_daytime_level * _awake(hours)
        for peak, weight in cal.hour_peaks[name]:
            gap = np.abs(hours - peak)
            gap = np.minimum(gap, HOURS - gap)  # the day wraps around midnight
            curve += weight * np.exp(-0.5 * (gap / cal.hour_peak_width) ** 2)
        lo, hi = curve.min(), curve.max()
        unit = (curve - lo) / (hi - lo) if hi > lo else np.ones(HOURS)
        out[k] = cal.hour_floor + (1.0 - cal.hour_floor) * unit
    return out


def _awake(hours: np.ndarray) -> np.ndarray:
    """A smooth 0-1 window over the waking hours, 07:00 to 23:00."""
    return 1.0 / (1.0 + np.exp(-(hours - 6.5))) / (1.0 + np.exp(-(23.5 - hours)))


def hour_fit_table(cal: CalendarParams) -> np.ndarray:
    """float32[segment, hour]: the timing fit of a push at each hour (profile − 0.5)."""
    return (hour_profile(cal) - NEUTRAL_FIT).astype(np.float32)


def peak_hours(cal: CalendarParams) -> np.ndarray:
    """int64[segment]: each segment's best hour."""
    return np.argmax(hour_profile(cal), axis=1).astype(np.int64)


def trough_hours(cal: CalendarParams) -> np.ndarray:
    """int64[segment]: each segment's worst hour."""
    return np.argmin(hour_profile(cal), axis=1).astype(np.int64)


def is_payday_window(cal: CalendarParams, date: dt.date) -> bool:
    """Whether ``date`` is a payday or within ``payday_window_days`` − 1 days after one."""
    return any(
        0 <= (date - _payday_on_or_before(date, pay)).days < cal.payday_window_days
        for pay in cal.paydays
    )


def is_pre_payday(cal: CalendarParams, date: dt.date) -> bool:
    """Whether ``date`` is within ``pre_payday_days`` days before a payday."""
    return any(
        0 < (_payday_after(date, pay) - date).days <= cal.pre_payday_days for pay in cal.paydays
    )


def _payday_on_or_before(date: dt.date, pay: int) -> dt.date:
    if date.day >= pay:
        return date.replace(day=pay)
    previous = date.replace(day=1) - dt.timedelta(days=1)
    return previous.replace(day=pay)


def _payday_after(date: dt.date, pay: int) -> dt.date:
    if date.day < pay:
        return date.replace(day=pay)
    following = (date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following.replace(day=pay)


def day_effects(cal: CalendarParams, days: int) -> np.ndarray:
    """float64[days, N_DAY_EFFECTS]: the calendar's scalars for each simulated day."""
    out = np.zeros((max(days, 1), N_DAY_EFFECTS))
    out[:, DAY_PRICE_KEEP] = 1.0
    for day in range(days):
        date = date_of(cal.start_date, day)
        wd = weekday_of(cal.start_date, day)
        out[day, DAY_OPEN] = cal.weekday_open_logit[wd]
        out[day, DAY_SPEAK] = cal.weekday_speak_logit[wd]
        if is_payday_window(cal, date):
            out[day, DAY_PAYDAY] += cal.payday_buy_logit
        elif is_pre_payday(cal, date):
            out[day, DAY_PAYDAY] += cal.pre_payday_buy_logit
    for event in cal.campaigns:
        first = day_of(cal.start_date, event.start)
        last = day_of(cal.start_date, event.end)
        inside = slice(max(first, 0), min(last + 1, days))
        out[inside, DAY_DEMAND] += event.demand_logit
        out[inside, DAY_PRICE_KEEP] *= 1.0 - event.discount
        after = slice(max(last + 1, 0), min(last + 1 + event.dip_days, days))
        out[after, DAY_DEMAND] += event.dip_logit
    return out


def campaign_days(cal: CalendarParams, days: int) -> list[tuple[str, int, int]]:
    """(name, first day, last day) of each campaign, in simulated days (may reach outside)."""
    return [
        (e.name, day_of(cal.start_date, e.start), day_of(cal.start_date, e.end))
        for e in cal.campaigns
    ]


def live_attendance(profile_at_hour: np.ndarray, attendance: float, u: np.ndarray) -> np.ndarray:
    """Whether each user attends: chance ``attendance × profile / 0.5`` (at most 1), so an
    average hour (profile 0.5) gives ``attendance`` and a segment's peak twice that."""
    chance = np.minimum(1.0, attendance * profile_at_hour / NEUTRAL_FIT)
    return u < chance
