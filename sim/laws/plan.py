"""What the laws need simulated: runs of the config's world under replaced strategies, and the
two jobs that are more than one run (the churn model's held-out AUC, the facts replay).

A :class:`Run` is the config's world (population, world parameters, horizon, seed) with its
strategies — and rules — replaced by the ones the law names, optionally with world parameters
edited (e.g. the course's price). Runs are frozen values, so equal runs requested by several
laws are simulated once. :class:`Plan` carries the world at the laws' scale and the ladder;
:class:`Results` holds what the jobs returned, for the laws' measure functions.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sim.analysis.law_measures import MissingData
from sim.config import ExperimentConfig
from strategies.registry import get_strategy_class

CHURN_WINDOW_DAYS = 30
SNAPSHOT_DAY = 60
"""The day after which the disengagement snapshot is taken (and the churn model's snapshot);
shorter runs take it ``CHURN_WINDOW_DAYS + 1`` days before their end."""
CHURN_MODEL_USERS = 20_000
"""At most this many initial users in each of the churn model's training and test worlds."""


@dataclass(frozen=True)
class StrategyCall:
    """One strategy with its parameters (sorted, so equal calls compare equal)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.params)
        return f"{self.name}({args})" if args else self.name


def call(name: str, **params: Any) -> StrategyCall:
    """A :class:`StrategyCall` of a registered strategy. Parameters equal to the strategy's
    defaults are dropped (so ``call("blanket", promos_per_day=1.0)`` is ``call("blanket")`` and
    the run is simulated once); list values become tuples so the call stays hashable."""
    defaults = strategy_defaults(name)
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    kept = {k: v for k, v in fixed.items() if k not in defaults or defaults[k] != v}
    return StrategyCall(name, tuple(sorted(kept.items())))


@functools.cache
def strategy_defaults(name: str) -> Mapping[str, Any]:
    """The default parameters of registered strategy ``name`` (read-only; looked up once)."""
    signature = inspect.signature(get_strategy_class(name).__init__)
    return MappingProxyType(
        {
            p.name: p.default
            for p in signature.parameters.values()
            if p.name != "self" and p.default is not inspect.Parameter.empty
        }
    )


@dataclass(frozen=True)
class Run:
    """The config's world under ``strategies`` (none = no operations), with ``world`` edits:
    (dotted path under ``world``, value) pairs such as ``("products.1.price", 4498.5)``."""

    strategies: tuple[StrategyCall, ...]
    world: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        text = " + ".join(s.label for s in self.strategies) or "no operations"
        edits = ", ".join(f"{k}={_short(v)}" for k, v in self.world)
        return f"{text} [{edits}]" if edits else text


def run_of(*strategies: StrategyCall, world: Mapping[str, Any] | None = None) -> Run:
    """A :class:`Run` of ``strategies`` with optional world edits."""
    return Run(tuple(strategies), tuple(sorted((world or {}).items())))


@dataclass(frozen=True)
class ChurnModelJob:
    """Train the churn model on two seeds of the baseline world, evaluate on a third."""

    users: int
    snapshot_day: int
    window: int = CHURN_WINDOW_DAYS

    @property
    def label(self) -> str:
        return f"churn model ({self.users:,} users, 3 seeds)"


@dataclass(frozen=True)
class FactsJob:
    """The facts replay (``sim.runs.facts.replay_facts``) on the plan's world and scale."""

    users: int
    days: int
    seed: int

    @property
    def label(self) -> str:
        return "facts replay (6 arms)"


Job = Run | ChurnModelJob | FactsJob

BASELINE = run_of(call("blanket", promos_per_day=1.0))
"""Blanket, one promo a day to everyone: the baseline wherever a law needs one."""


@dataclass(frozen=True)
class Plan:
    """The world the laws are measured on (the config at the laws' scale) and its ladder."""

    config: ExperimentConfig
    source: str = "<config>"
    quick: bool = False
    """Run the "every strategy" laws on each strategy's defaults only (no range ends)."""

    @property
    def days(self) -> int:
        return self.config.days

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.config.world.products)

    @property
    def entry(self) -> str:
        """The ladder's first step (the camp)."""
        return self.products[0]

    @property
    def step(self) -> str:
        """The ladder's second step (the course); MissingData if the ladder has one step."""
        if len(self.products) < 2:
            raise MissingData("a second product on the ladder (world.products)")
        return self.products[1]

    @property
    def snapshot_day(self) -> int:
        return min(SNAPSHOT_DAY, self.days - CHURN_WINDOW_DAYS - 1)

    def churn_model_job(self) -> ChurnModelJob:
        users = min(self.config.population.initial_users, CHURN_MODEL_USERS)
        return ChurnModelJob(users=users, snapshot_day=self.snapshot_day)

    def facts_job(self) -> FactsJob:
        users = self.config.population.initial_users
        return FactsJob(users=users, days=self.days, seed=self.config.seed)

    def run_config(self, run: Run) -> ExperimentConfig:
        """The config of ``run``: this world, ``run``'s strategies and edits, no rules, and the
        purchases and groups tables on (the laws read them); no plots."""
        data = self.config.model_dump(mode="python")
        for path, value in run.world:
            _set_path(data["world"], path, value)
        data.update(
            name=f"{self.config.name}-laws",
            strategies=[{"name": s.name, "params": dict(s.params)} for s in run.strategies],
            rules=(),
            churn_model=None,
            output={"purchases": True, "groups": True, "plots": False},
        )
        return ExperimentConfig.model_validate(data)


@dataclass
class Results:
    """What the jobs returned: per-run metrics (:func:`sim.laws.metrics.run_metrics`) and the
    other jobs' results, keyed by job."""

    values: dict[Job, Any] = field(default_factory=dict)

    def metric(self, run: Run, name: str) -> Any:
        """Metric ``name`` of ``run``; raises :class:`MissingData` if the run could not give it."""
        value = self.values[run][name]
        if isinstance(value, MissingData):
            raise value
        return value

    def job(self, job: Job) -> Any:
        value = self.values[job]
        if isinstance(value, MissingData):
            raise value
        return value


def scaled(
    config: ExperimentConfig,
    users: int | None = None,
    days: int | None = None,
    seed: int | None = None,
) -> ExperimentConfig:
    """``config`` with the laws' scale: ``users`` initial users with the daily arrivals scaled
    by the same factor (so a smaller world keeps the mix of base users and newcomers; a twin's
    base is its data and is left alone), ``days`` and ``seed``."""
    update: dict[str, Any] = {}
    if days is not None:
        update["days"] = days
    if seed is not None:
        update["seed"] = seed
    pop = config.population
    if users is not None and pop.twin is None and users != pop.initial_users:
        factor = users / pop.initial_users if pop.initial_users else 1.0
        arrivals = {k: v * factor for k, v in pop.arrivals_per_day.items()}
        update["population"] = pop.model_copy(
            update={"initial_users": users, "arrivals_per_day": arrivals}
        )
    data = config.model_copy(update=update).model_dump(mode="python")
    return ExperimentConfig.model_validate(data)


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b]…`` for ``path`` "a.b…" (list indexes as digits)."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list | tuple) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
