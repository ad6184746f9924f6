"""The calendar: SimPy drives time in days.

Each simulated day has three moments, in this order:

* ``day + 0.00`` — arrivals, then every strategy's ``on_day`` (operations of the day);
* ``day + 0.25`` — actions scheduled earlier with a delay (``ops.after``), in the order they
  were scheduled;
* ``day + 0.50`` — the behaviour step and the day's records.

SimPy orders events at the same time by scheduling order, so all of this is deterministic.

Simulated days are real dates: day 0 is the run's ``start_date`` (``world.calendar.start_date``,
default :data:`DEFAULT_START_DATE`, a Monday). :func:`date_of` and :func:`weekday_of` map a
simulated day to its date and weekday (0 = Monday … 6 = Sunday).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import simpy

OPERATIONS, SCHEDULED, BEHAVIOUR = 0.0, 0.25, 0.5

DEFAULT_START_DATE = dt.date(2026, 1, 5)
"""Day 0 when a config names no start date: a Monday, so day 0 is a Monday as it always was."""
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def date_of(start: dt.date, day: int) -> dt.date:
    """The date of simulated ``day`` in a run that starts on ``start``."""
    return start + dt.timedelta(days=day)


def weekday_of(start: dt.date, day: int) -> int:
    """The weekday of simulated ``day`` (0 = Monday … 6 = Sunday)."""
    return (start.weekday() + day) % 7


def day_of(start: dt.date, date: dt.date) -> int:
    """The simulated day of ``date`` (negative before the start)."""
    return (date - start).days


class Calendar:
    """A SimPy environment with a daily rhythm and delayed callbacks."""

    def __init__(self) -> None:
        self.env = simpy.Environment()

    @property
    def day(self) -> int:
        return math.floor(self.env.now)

    def daily(self, operations: Callable[[int], None], behaviour: Callable[[int], None],
              days: int) -> None:  # fmt: skip
        """Register the daily process: ``operations(day)`` then ``behaviour(day)``."""

        def process():
            for day in range(days):
                operations(day)
                yield self.env.timeout(BEHAVIOUR)
                behaviour(day)
                yield self.env.timeout(1.0 - BEHAVIOUR)

        self.env.process(process())

    def schedule(self, days: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at the scheduled moment of the day ``days`` from today."""
        if days < 0:
            raise ValueError("cannot schedule in the past")
        target = self.day + days + SCHEDULED
        if target <= self.env.now:  # already past today's scheduled moment: run at once
            callback()
            return

        def process():
            yield self.env.timeout(target - self.env.now)
            callback()

        self.env.process(process())

    def run(self, days: int) -> None:
        self.env.run(until=days)
