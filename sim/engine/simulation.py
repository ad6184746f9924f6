"""The engine: builds the world from a config, runs the calendar, collects the records.

``Simulation(config).run()`` runs the config's policy (its strategies and rules) and returns a
:class:`SimulationResult` with the tables of a run (see :mod:`sim.engine.tables`). The public
front door, :func:`sim.run`, wraps it (manifest, optional run folder). The engine owns the
population, the groups, the ledger and the calendar; strategies see them only through
:class:`~sim.world.actions.Operations`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.calendar import Calendar
from sim.config import ExperimentConfig
from sim.engine.policy import build_strategies
from sim.engine.tables import build_tables
from sim.rng import Purpose, uniforms
from sim.twin.population import twin_population
from sim.world import arrivals
from sim.world import lifecycle as lc
from sim.world.actions import ACTION_COLUMNS, Ledger, Operations
from sim.world.assignment import Assignment
from sim.world.behaviour import (
    COUNTERS,
    classify_all,
    day_keys,
    ladder_arrays,
    new_buffers,
    step_params,
    step_users,
)
from sim.world.groups import STEP_GROUP_COLUMNS, Groups
from sim.world.population import Population
from sim.world.pressure import Pressure
from sim.world.social import draw_disruptive
from sim.world.threads import resolve_threads
from sim.world.timing import (
    DAY_TIMED,
    day_effects,
    hour_fit_table,
    hour_profile,
    live_attendance,
)
from strategies.base import Strategy


@dataclass
class SimulationResult:
    """Everything the engine produced for one run, in memory (:func:`sim.run` adds the
    manifest and the run folder: :class:`sim.api.RunResult`)."""

    config: ExperimentConfig
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)


class Simulation:
    """One run of one policy (a list of strategies) on one world.

    ``strategies=None`` (the default) means the config's own policy: its ``strategies:`` and
    ``rules:``, built and validated by :func:`~sim.engine.policy.build_strategies`. A list, even
    an empty one ("do nothing"), is used instead of the config's policy (experiments pass each
    arm's strategies this way).

    With ``treatment`` strategies (an experiment arm; an empty list means "do nothing") the
    population is split by ``assignment``:
    users whose randomisation unit drew the treatment (``assigned``) receive ``treatment``, the
    others receive ``strategies`` (the control policy). Without ``treatment``, ``strategies`` act
    on everyone and ``assignment`` only labels who would have been treated (the control world of
    an experiment).
    """

    def __init__(
        self,
        config: ExperimentConfig,
        strategies: Sequence[Strategy] | None = None,
        on_day_done: Callable[[int], None] | None = None,
        keep_user_actions: bool = False,
        treatment: Sequence[Strategy] | None = None,
        assignment: Assignment | None = None,
    ) -> None:
        if treatment is not None and assignment is None:
            raise ValueError("treatment strategies need an assignment (who is treated)")
        self.config = config
        self.world = config.world
        self.seed = config.seed
        self.assignment = assignment
        self.strategies = (
            build_strategies(config) if strategies is None else [s.clone() for s in strategies]
        )
        # None = no split (the control policy acts on everyone); a list, even an empty one
        # ("do nothing"), is the arm's policy for the assigned users
        self.treatment = None if treatment is None else [s.clone() for s in treatment]
        self.on_day_done = on_day_done
        self.day = 0
        self.calendar = Calendar()
        self.ledger = Ledger(keep_users=keep_user_actions)
        self.pressure = Pressure(config.pressure)
        self.groups = Groups(self.world.groups, social=self.world.social)
        expected = config.population.initial_users + int(
            1.3 * config.days * sum(config.population.arrivals_per_day.values())
        )
        self.pop = Population(capacity=expected + 1024)
        self._users_at_start = 0  # set once the initial population is in
        self.hour_fit = hour_fit_table(self.world.calendar)
        self._day_effects = day_effects(self.world.calendar, config.days)
        self.timed_today = False
        self._promo_reached = 0
        self._params = step_params(self.world)
        self._ladder = ladder_arrays(self.world)
        self._buffers = new_buffers(self.pop.capacity)
        self.threads = resolve_threads()  # SIYU_THREADS or every core; results do not depend on it
        # with several threads, a day's serial sum pass (behaviour.step_users) runs on this
        # thread while the rest of the day goes on (set up by run())
        self._sum_pass: ThreadPoolExecutor | None = None
        self._pending_sums: tuple[Future, dict] | None = None
        # wall seconds of the daily phases: actions (arrivals, strategies), behaviour (the
        # compiled step), groups (group update and the daily records)
        self.phase_seconds = {"actions_s": 0.0, "behaviour_s": 0.0, "groups_s": 0.0}
        self._pending_referrals: tuple[np.ndarray, np.ndarray] | None = None
        self.records: dict[str, list] = {
            "daily": [], "transitions": [], "purchases": [], "groups": [], "lapses": [],
        }  # fmt: skip
        self._arrivals_today = (0, 0)

    # -- setup -------------------------------------------------------------------------------
    def _foreseen_capacity(self, count: int, day: int) -> int:
        """The capacity to grow to when ``count`` users arriving on ``day`` do not fit: room
        for the users expected by the last day at the rate they came so far, plus a quarter
        (0 on day 0: grow by the population's factor). Growing by a fixed factor instead would
        leave up to that factor of idle user columns at the end of the run."""
        if day <= 0:
            return 0
        need = self.pop.n + count
        per_day = (need - self._users_at_start) / (day + 1)
        days_left = self.config.days - 1 - day
        return max(need + int(1.25 * per_day * days_left) + 1024, need + need // 16)

    def _add_users(self, cols: dict[str, np.ndarray], day: int) -> np.ndarray:
        """Append users, seat those who join a group, label them; returns their slots."""
        self.pop.reserve(len(cols["uid"]), self._foreseen_capacity(len(cols["uid"]), day))
        slots = self.pop.append(cols)
        self.pop.col("disruptive")[slots] = draw_disruptive(
            self.seed, cols["uid"], self.world.social.disruptive_share
        )
        if self._buffers.trans_user.shape[0] < self.pop.capacity:
            self._buffers = new_buffers(self.pop.capacity)
        joins = uniforms(self.seed, Purpose.GROUP_JOIN, 0, cols["uid"])
        joining = slots[joins < self.world.groups.join_probability]
        if "join_day" in cols and joining.size:
            joining = joining[arrivals.join_order(cols["join_day"][joining - slots[0]])]
        self.groups.assign(self.pop.col("group"), joining, day)
        pop = self.pop
        pop.col("arrival_group")[slots] = pop.col("group")[slots]
        pop.col("initial_quadrant")[slots] = lc.quadrant(
            pop.col("prior_revenue")[slots], pop.col("active_bits")[slots], self.world.lifecycle
        )
        if self.assignment is not None:
            pop.col("assigned")[slots] = self.assignment.draw(
                self.seed, pop.col("uid")[slots], pop.col("group")[slots]
            )
        gone = slots[pop.col("churn_day")[slots] >= 0]  # added already gone (a twin's leavers)
        if gone.size:
            self.groups.remove(pop.col("group"), gone)
            pop.col("arrival_group")[gone] = -1
        return slots

    def _initial_population(self) -> None:
        spec = self.config.population
        if spec.twin is None:
            cols = arrivals.initial_base(spec, self.world, self.seed)
        else:  # a calibrated twin: one user per real user (sim/twin/population.py)
            cols = twin_population(spec.twin, spec, self.world, self.seed)
        self._add_users(cols, 0)
        self._users_at_start = self.pop.n
        lc = self.world.lifecycle
        classify_all(self.pop.n, self.pop.arrays(), lc.core_min_purchases,
                     lc.dormant_after_days, 0)  # fmt: skip
        self.groups.reset_counters()  # base users joined before day 0

    def _arrive(self, day: int) -> None:
        spec = self.config.population
        uids, channels = arrivals.daily_arrivals(spec, self.seed, day)
        referrer = np.full(uids.shape[0], -1, np.int64)
        n_referred = 0
        if self._pending_referrals is not None:
            ref_slots, counts = self._pending_referrals
            parents = self.pop.col("uid")[ref_slots]
            ref_uids = arrivals.referred_uids(self.seed, day - 1, parents, counts)
            n_referred = ref_uids.shape[0]
            uids = np.concatenate([uids, ref_uids])
            channels = np.concatenate([channels, np.full(n_referred, arrivals.REFERRAL, np.int8)])
            referrer = np.concatenate([referrer, np.repeat(parents.astype(np.int64), counts)])
            self._pending_referrals = None
        if uids.shape[0]:
            cols = arrivals.user_attributes(spec, self.seed, uids, channels)
            cols.update(
                join_day=np.full(uids.shape[0], day, np.int32),
                referrer=referrer,
                last_active=np.full(uids.shape[0], day, np.int32),
                last_touch=np.full(uids.shape[0], day, np.int32),
            )
            self._add_users(cols, day)
        self._arrivals_today = (int(uids.shape[0]), n_referred)

    # -- the day -----------------------------------------------------------------------------
    def _operations(self, day: int) -> None:
        t0 = time.perf_counter()
        self.day = day
        self._arrive(day)
        self.pressure.start_day(day)
        self.pressure.run_queue()
        self._live_streams(day)
        for strategy, ops in self._ops:
            strategy.on_day(ops)
        self.phase_seconds["actions_s"] += time.perf_counter() - t0

    def _live_streams(self, day: int) -> None:
        """Today's live-stream sessions (world.calendar.live_streams): attendees (more of the
        segments whose profile peaks at the start hour) get the session as a promotion timed at
        its hour and the in-session offer as a coupon (booked under ``calendar/live_stream``)."""
        cal = self.world.calendar
        today = [s for s in cal.live_streams if (s.date - cal.start_date).days == day]
        if not today:
            return
        ops = Operations(self, "calendar/live_stream")
        users = ops.reachable()
        profile = hour_profile(cal)
        for k, session in enumerate(today):
            u = uniforms(self.seed, Purpose.LIVE_STREAM, day * 8 + k, self.pop.col("uid")[users])
            at_hour = profile[self.pop.col("occupation")[users], session.start_hour]
            attendees = users[live_attendance(at_hour, session.attendance, u)]
            ops.send_promo(attendees, hour=session.start_hour)
            ops.give_coupon(attendees, session.offer_discount, session.offer_days)

    def _behaviour(self, day: int) -> None:
        pop, groups, buf = self.pop, self.groups, self._buffers
        t0 = time.perf_counter()
        self._settle_sums()  # yesterday's pass reads what this step changes
        buf.counters[:] = 0.0
        # users who received a promotion today (churned users never do: actions skip them)
        self._promo_reached = int(np.count_nonzero(pop.col("inbox_promo")[: pop.n]))
        today = self._day_effects[day]
        today[DAY_TIMED] = 1.0 if self.timed_today else 0.0
        self.timed_today = False
        sums_later = step_users(
            day, pop.n, day_keys(self.seed, day), self._params, self._ladder, pop.arrays(),
            *(groups.buffer(k) for k in STEP_GROUP_COLUMNS), buf, today, self.threads,
            defer_sums=self._sum_pass is not None,
        )  # fmt: skip
        t1 = time.perf_counter()
        self.phase_seconds["behaviour_s"] += t1 - t0
        n_trans, n_buy, n_ref, n_lapse = (int(x) for x in buf.sizes)
        uid = pop.col("uid")
        self.records["transitions"].append(
            (day, uid[buf.trans_user[:n_trans]], buf.trans_from[:n_trans].copy(),
             buf.trans_to[:n_trans].copy())
        )  # fmt: skip
        self.records["purchases"].append(
            (day, uid[buf.buy_user[:n_buy]], buf.buy_step[:n_buy].copy(),
             buf.buy_paid[:n_buy].copy(), buf.buy_discount[:n_buy].copy())
        )  # fmt: skip
        self.records["lapses"].append(
            (day, uid[buf.lapse_user[:n_lapse]], buf.lapse_event[:n_lapse].copy())
        )
        if n_ref:
            self._pending_referrals = (buf.ref_user[:n_ref].copy(), buf.ref_count[:n_ref].copy())
        group_rows = groups.end_of_day(day, pop.col("group"))
        if self.config.output.groups:
            self.records["groups"].append(group_rows)
        row = self._daily_row(day, group_rows)
        self.records["daily"].append(row)
        if sums_later is not None:  # the row's trust, fatigue and intent means come with it
            self._pending_sums = (self._sum_pass.submit(sums_later), row)
        self.phase_seconds["groups_s"] += time.perf_counter() - t1  # groups and daily records
        if self.on_day_done is not None:
            self.on_day_done(day)

    def _settle_sums(self) -> None:
        """Wait for the deferred sum pass of the last day stepped and put its trust, fatigue and
        intent means in that day's row (as :meth:`_daily_row` computes them)."""
        if self._pending_sums is None:
            return
        future, row = self._pending_sums
        self._pending_sums = None
        trust, fatigue, intent = future.result()
        reachable = max(row["reachable"], 1.0)
        row["trust_mean"] = trust / reachable
        row["fatigue_mean"] = fatigue / reachable
        row["intent_mean"] = intent / reachable

    def _daily_row(self, day: int, g: dict[str, np.ndarray]) -> dict[str, float]:
        c = dict(zip(COUNTERS, self._buffers.counters.tolist(), strict=True))
        reachable_users = c.pop("reachable")
        reachable = max(reachable_users, 1.0)
        spent = self.ledger.close_day()
        pressure = self.pressure.close_day()
        alive = g["alive"]
        members = int(g["size"][alive].sum())
        pushed = int(g["pushed"].sum())
        row = {
            "day": day,
            "users_registered": self.pop.n,
            "arrivals": self._arrivals_today[0],
            "arrivals_referred": self._arrivals_today[1],
            **{k: c[k] for k in COUNTERS if k.startswith("stage_")},
            **{
                k: c[k]
                for k in (
                    "active",
                    "opened",
                    "spoke",
                    "shared",
                    "purchases",
                    "revenue",
                    "discount",
                    "mutes",
                    "churned_today",
                    "completions",
                    "referrals",
                    "content_reached",
                    "content_opened",
                    "lapses",
                    "recalls",
                    "lapsed",
                    "promo_opened",
                )
            },  # fmt: skip
            "promo_reached": self._promo_reached,
            "reachable": reachable_users,
            "cost_money": spent.get("cost_money", 0.0),
            "operator_hours": spent.get("operator_hours", 0.0),
            **{col: int(spent.get(col, 0)) for col in ACTION_COLUMNS.values()},
            **pressure,
            "group_joins": int(g["joins"].sum()),
            "group_leaves": int(g["leaves"].sum()),
            "groups_alive": int(alive.sum()),
            "group_members": members,
            "group_speaking_rate": float(g["speakers"].sum()) / members if members else 0.0,
            "group_open_rate": float(g["opened"].sum()) / pushed if pushed else float("nan"),
            "trust_mean": c["trust_sum"] / reachable,
            "fatigue_mean": c["fatigue_sum"] / reachable,
            "intent_mean": c["intent_sum"] / reachable,
        }
        return row

    # -- running -----------------------------------------------------------------------------
    def initial_view(self, strategy: str = "inspect") -> Operations:
        """Build the initial population (day 0, before arrivals) without running any day.

        Returns an :class:`Operations` to read it (e.g. to dry-run rule conditions). Use a fresh
        Simulation for :meth:`run` afterwards.
        """
        if self.pop.n == 0:
            self._initial_population()
        return Operations(self, strategy)

    def _operations_for_policies(self) -> list[tuple[Strategy, Operations]]:
        """Each strategy with the operations it may use: everyone, or one side of the split."""
        if self.treatment is None:
            return [(s, Operations(self, s.name)) for s in self.strategies]
        control = [(s, Operations(self, s.name, audience=False)) for s in self.strategies]
        treated = [
            (s, Operations(self, f"treatment/{s.name}", audience=True)) for s in self.treatment
        ]
        return control + treated

    def run(self) -> SimulationResult:

        t0 = time.perf_counter()
        if self.pop.n:
            raise RuntimeError("this Simulation was already set up; run a fresh one")
        self._initial_population()
        self._ops = self._operations_for_policies()
        for strategy, ops in self._ops:
            strategy.start(ops)
        t1 = time.perf_counter()
        if self.threads > 1:
            self._sum_pass = ThreadPoolExecutor(1, thread_name_prefix="siyu-sums")
        try:
            self.calendar.daily(self._operations, self._behaviour, self.config.days)
            self.calendar.run(self.config.days)
            self._settle_sums()
        finally:
            if self._sum_pass is not None:
                self._sum_pass.shutdown()
                self._sum_pass = None
        self._buffers = new_buffers(0)  # the step's buffers are not needed for the tables
        for _, ops in self._ops:
            ops.release()  # nor the buffers of the reachable users
        t2 = time.perf_counter()
        tables = build_tables(self)
        t3 = time.perf_counter()
        timings = {"setup_s": t1 - t0, "simulate_s": t2 - t1, "tables_s": t3 - t2,
                   **self.phase_seconds}  # fmt: skip
        return SimulationResult(self.config, tables, timings)
