"""The calendar: each day runs operations, then delayed actions (in scheduling order), then
behaviour; ``ops.after`` lands on the right day, and the order is the same in every run.
"""

from __future__ import annotations

import warnings

import pytest

from sim.calendar import Calendar
from sim.engine.simulation import Simulation
from sim.world.actions import Operations
from strategies.base import Strategy, UndeclaredParametersWarning

# A test double whose parameters (a plan of tuples, a log list) are not declarable types; it
# writes its own __init__, so defining it warns by design.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UndeclaredParametersWarning)

    class Scheduler(Strategy):
        """Test-only: schedules labelled contacts and logs when each piece of work runs.

        ``plan`` is a list of (day it is scheduled on, delay, label); day -1 means in ``start``.
        """

        name = "scheduler"

        def __init__(self, plan: tuple = (), log: list | None = None) -> None:
            self.plan = plan
            self.log = log

        def _schedule(self, ops: Operations, when: int) -> None:
            for day, delay, label in self.plan:
                if day == when:
                    ops.after(delay, self._task(label))

        def _task(self, label: str):
            def run(ops: Operations) -> None:
                self.log.append(("delayed", ops.day, label))
                ops.contact_1v1(ops.reachable()[:1])

            return run

        def start(self, ops: Operations) -> None:
            self._schedule(ops, -1)

        def on_day(self, ops: Operations) -> None:
            self.log.append(("operations", ops.day, ""))
            self._schedule(ops, ops.day)


PLAN = (
    (-1, 2, "A"),  # from start: day 2
    (-1, 3, "B"),  # day 3, before C and D (scheduled earlier)
    (1, 0, "now"),  # day 1, same day, after operations
    (1, 2, "C"),  # day 3
    (2, 1, "D"),  # day 3
    (3, 1000, "never"),  # beyond the horizon: never runs
)


def run_plan(make_config) -> tuple[list, dict]:
    log: list = []
    config = make_config(days=6, users=200)
    sim = Simulation(config, [Scheduler(PLAN, log)],
                     on_day_done=lambda day: log.append(("behaviour", day, "")))  # fmt: skip
    tables = sim.run().tables
    return log, tables


def test_delayed_actions_run_on_their_day_between_operations_and_behaviour(make_config):
    log, _ = run_plan(make_config)
    delayed = [(day, label) for kind, day, label in log if kind == "delayed"]
    assert delayed == [(1, "now"), (2, "A"), (3, "B"), (3, "C"), (3, "D")]
    for kind, day, _label in log:
        if kind == "delayed":
            i = log.index(("delayed", day, _label))
            assert ("operations", day, "") in log[:i]
            assert ("behaviour", day, "") in log[i:]
    days = [day for kind, day, _ in log if kind != "delayed"]
    assert days == sorted(days)  # the days follow each other


def test_delayed_costs_are_booked_on_the_day_they_run(make_config):
    _, tables = run_plan(make_config)
    costs = tables["costs"]
    assert (costs["action"] == "contact_1v1").all()
    assert costs.groupby("day").size().to_dict() == {1: 1, 2: 1, 3: 3}
    daily = tables["daily"].set_index("day")
    assert daily["contacts_1v1"].to_dict() == {0: 0, 1: 1, 2: 1, 3: 3, 4: 0, 5: 0}


def test_order_is_deterministic(make_config):
    assert run_plan(make_config)[0] == run_plan(make_config)[0]


def test_calendar_rejects_the_past_and_runs_same_moment_work_at_once():
    calendar = Calendar()
    with pytest.raises(ValueError, match="past"):
        calendar.schedule(-1, lambda: None)
    seen = []

    def delayed(d):
        seen.append(("delayed", d))
        calendar.schedule(0, lambda: seen.append(("at once", d)))  # already at the moment
        seen.append(("after scheduling", d))

    calendar.daily(lambda d: calendar.schedule(0, lambda: delayed(d)),
                   lambda d: seen.append(("behaviour", d)), days=2)  # fmt: skip
    calendar.run(2)
    assert seen == [
        ("delayed", 0), ("at once", 0), ("after scheduling", 0), ("behaviour", 0),
        ("delayed", 1), ("at once", 1), ("after scheduling", 1), ("behaviour", 1),
    ]  # fmt: skip
