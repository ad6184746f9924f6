"""``check_strategy``: the conformance check every strategy (built-in or plugin) should pass.

In the spirit of scikit-learn's ``check_estimator``. It checks, in order, and raises an
``AssertionError`` whose message starts with the name of the failed check:

* ``class-attributes`` — ``name``, ``summary``, ``source`` and ``cost_model`` are non-empty;
* ``explicit-params`` — ``__init__`` takes only named keywords, each with a default, stored
  unchanged under the same name; every keyword is declared with ``param()`` (type, range,
  meaning) and every declaration is a keyword with the declared default; the defaults validate;
* ``get-params`` — ``get_params()`` round-trips through the constructor;
* ``clone`` — ``clone()`` is a new object of the same type with equal parameters and no learned
  attributes (names ending in ``_``) before ``start``;
* ``read-only`` — during ``start``, ``on_day`` and ``ops.after`` callbacks the population and
  group arrays are frozen (``writeable = False``) except inside the action calls of ``ops``, so
  a strategy that writes state directly fails with the array it touched;
* ``determinism`` — two runs with the same seed give identical tables;
* ``no-action-no-effect`` — a run that booked no action leaves every table identical to ``none``;
* ``costs`` — every cost and operator-hour booked is finite and ≥ 0;
* ``global-rng`` — the global ``numpy.random`` and ``random`` states are untouched.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.config import ExperimentConfig, parse_config
from sim.engine.simulation import Simulation
from sim.world.actions import ACTIONS, UNBOOKED_ACTIONS, Operations
from sim.world.groups import GROUP_COLUMNS
from strategies.base import Strategy

CHECK_USERS = 2_000
CHECK_DAYS = 30
CHECK_SEED = 7


def check_config(users: int = CHECK_USERS, days: int = CHECK_DAYS, seed: int = CHECK_SEED
                 ) -> ExperimentConfig:  # fmt: skip
    """The small default world the check runs on (about 20 arrivals a day)."""
    return parse_config(
        {
            "name": "check",
            "seed": seed,
            "days": days,
            "population": {
                "initial_users": users,
                "arrivals_per_day": {"organic": 4.0, "ads": 8.0, "content": 4.0, "live": 4.0},
            },
        },
        "<check_strategy>",
    )


def check_strategy(
    strategy_or_class: Strategy | type[Strategy], config: ExperimentConfig | None = None
) -> dict[str, pd.DataFrame]:
    """Run every conformance check; return the tables of the checked run.

    ``strategy_or_class`` may be an instance (checked with its parameters) or a class (checked
    with its defaults). ``config`` defaults to :func:`check_config`.
    """
    cls = strategy_or_class if isinstance(strategy_or_class, type) else type(strategy_or_class)
    _check_class_attributes(cls)
    _check_explicit_params(cls)
    strategy = cls() if isinstance(strategy_or_class, type) else strategy_or_class
    _expect(isinstance(strategy, Strategy), "class-attributes", f"{cls!r} is not a Strategy")
    _check_get_params(strategy)
    _check_clone(strategy)
    config = config or check_config()
    np_state, py_state = np.random.get_state(), random.getstate()
    first = run_guarded(config, strategy)
    second = run_guarded(config, strategy)
    _check_rng_untouched(np_state, py_state)
    _check_same_tables(first, second, "determinism", "two runs with the same seed differ")
    _check_costs(first["costs"])
    if first["costs"].empty:
        reference = Simulation(config, []).run().tables
        _check_same_tables(
            first, reference, "no-action-no-effect", "booked no action but changed the world"
        )
    return first


def _expect(ok: bool, check: str, message: str) -> None:
    if not ok:
        raise AssertionError(f"check_strategy[{check}]: {message}")


def _check_class_attributes(cls: type) -> None:
    for attr in ("name", "summary", "source", "cost_model"):
        value = getattr(cls, attr, "")
        _expect(isinstance(value, str) and bool(value.strip()), "class-attributes",
                f"{cls.__name__}.{attr} must be a non-empty string")  # fmt: skip


def _check_explicit_params(cls: type[Strategy]) -> None:
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    for p in params:
        _expect(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD), "explicit-params",
                f"{cls.__name__}.__init__ must not take *args/**kwargs ({p.name})")  # fmt: skip
        _expect(p.default is not p.empty, "explicit-params",
                f"{cls.__name__}.__init__ parameter {p.name!r} needs a default")  # fmt: skip
    _check_declarations(cls, {p.name: p.default for p in params})
    try:
        instance = cls()
    except ValueError as exc:
        raise AssertionError(f"check_strategy[explicit-params]: defaults rejected: {exc}") from exc
    for p in params:
        _expect(hasattr(instance, p.name) and _equal(getattr(instance, p.name), p.default),
                "explicit-params",
                f"{cls.__name__} must store {p.name!r} unchanged under that name")  # fmt: skip


def _check_declarations(cls: type[Strategy], defaults: dict[str, Any]) -> None:
    """Every ``__init__`` keyword declared with ``param()``, and every declaration a keyword."""
    declared = {p.name: p for p in cls.parameters if p.declared}
    missing = [name for name in defaults if name not in declared]
    extra = [name for name in declared if name not in defaults]
    _expect(not missing, "explicit-params",
            f"{cls.__name__}: keywords without a param() declaration: {missing}")  # fmt: skip
    _expect(not extra, "explicit-params",
            f"{cls.__name__}: declared parameters __init__ does not take: {extra}")  # fmt: skip
    for name, p in declared.items():
        _expect(_equal(p.default, defaults[name]), "explicit-params",
                f"{cls.__name__}.{name}: declared default {p.default!r} but __init__ has "
                f"{defaults[name]!r}")  # fmt: skip
        _expect(p.problem(p.default) is None, "explicit-params",
                f"{cls.__name__}.{name}: default {p.problem(p.default)}")  # fmt: skip


def _check_get_params(strategy: Strategy) -> None:
    params = strategy.get_params()
    rebuilt = type(strategy)(**params)
    _expect(_equal(rebuilt.get_params(), params), "get-params",
            f"{type(strategy).__name__}(**get_params()) does not round-trip")  # fmt: skip


def _check_clone(strategy: Strategy) -> None:
    twin = strategy.clone()
    _expect(twin is not strategy and type(twin) is type(strategy), "clone",
            "clone() must return a new object of the same type")  # fmt: skip
    _expect(_equal(twin.get_params(), strategy.get_params()), "clone",
            "clone() must keep the parameters")  # fmt: skip
    learned = [k for k in vars(twin) if k.endswith("_") and not k.startswith("__")]
    _expect(not learned, "clone", f"fresh clone has learned attributes before start: {learned}")


def _check_rng_untouched(np_state: tuple, py_state: object) -> None:
    now = np.random.get_state()
    same_np = (
        np_state[0] == now[0]
        and np.array_equal(np_state[1], now[1])
        and all(a == b for a, b in zip(np_state[2:], now[2:], strict=True))
    )
    _expect(bool(same_np), "global-rng", "the global numpy.random state changed")
    _expect(random.getstate() == py_state, "global-rng", "the global random state changed")


def _check_costs(costs: pd.DataFrame) -> None:
    for col in ("cost_money", "operator_hours", "users", "units"):
        values = costs[col].to_numpy(dtype=float)
        _expect(bool(np.all(np.isfinite(values) & (values >= 0))), "costs",
                f"negative or non-finite {col} booked")  # fmt: skip


def _check_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame], check: str,
                       what: str) -> None:  # fmt: skip
    _expect(sorted(a) == sorted(b), check, f"{what}: different tables {sorted(a)} vs {sorted(b)}")
    for name in a:
        try:
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        except AssertionError as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise AssertionError(f"check_strategy[{check}]: {what}: table {name!r}: "
                                 f"{first_line}") from exc  # fmt: skip


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) if isinstance(a, np.ndarray) else bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable values are simply not equal
        return False


# -- the read-only guard -----------------------------------------------------------------------
def run_guarded(config: ExperimentConfig, strategy: Strategy) -> dict[str, pd.DataFrame]:
    """Run ``strategy`` alone with the world's arrays frozen outside its action calls."""
    sim = Simulation(config, [strategy])
    sim.strategies = [_Guarded(s, sim) for s in sim.strategies]
    return sim.run().tables


class _Freezer:
    """Flips ``writeable`` on every population and group array of a simulation."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.is_frozen = False

    def _arrays(self) -> list[np.ndarray]:
        # the full buffers, not the used rows: a strategy could write past ``n`` too
        groups = self.sim.groups
        return [*self.sim.pop.arrays(), *(groups.buffer(name) for name in GROUP_COLUMNS)]

    def set(self, frozen: bool) -> bool:
        """Freeze (or thaw) every array; returns the previous state."""
        before, self.is_frozen = self.is_frozen, frozen
        for arr in self._arrays():
            arr.flags.writeable = not frozen
        return before

    def frozen(self, fn: Callable[..., Any], *args: Any) -> Any:
        before = self.set(True)
        try:
            return fn(*args)
        except ValueError as exc:
            if "read-only" in str(exc):
                raise AssertionError(
                    f"check_strategy[read-only]: the strategy wrote user/group state directly "
                    f"instead of acting through ops ({exc})"
                ) from exc
            raise
        finally:
            self.set(before)


class _GuardedOps(Operations):
    """Operations whose actions thaw the arrays for their own duration only."""

    def __init__(self, sim: Simulation, strategy: str, freezer: _Freezer) -> None:
        super().__init__(sim, strategy)
        self._freezer = freezer

    def labelled(self, strategy: str) -> Operations:
        return _GuardedOps(self._sim, strategy, self._freezer)

    def after(self, days: int, callback: Callable[[Operations], None]) -> None:
        super().after(days, lambda ops: self._freezer.frozen(callback, ops))


def _thawing(action: str) -> Callable[..., Any]:
    inner = getattr(Operations, action)

    def method(self: _GuardedOps, *args: Any, **kwargs: Any) -> Any:
        before = self._freezer.set(False)
        try:
            return inner(self, *args, **kwargs)
        finally:
            self._freezer.set(before)

    method.__name__ = action
    method.__doc__ = inner.__doc__
    return method


for _action in (*ACTIONS, *UNBOOKED_ACTIONS):
    setattr(_GuardedOps, _action, _thawing(_action))


class _Guarded:
    """Stands in for a strategy inside the engine and runs its hooks with the world frozen."""

    def __init__(self, inner: Strategy, sim: Simulation) -> None:
        self.inner = inner
        self.name = inner.name
        self.sim = sim
        self._ops: _GuardedOps | None = None

    def _guarded_ops(self, ops: Operations) -> _GuardedOps:
        if self._ops is None:
            self._ops = _GuardedOps(self.sim, ops.strategy, _Freezer(self.sim))
        return self._ops

    def start(self, ops: Operations) -> None:
        gops = self._guarded_ops(ops)
        gops._freezer.frozen(self.inner.start, gops)

    def on_day(self, ops: Operations) -> None:
        gops = self._guarded_ops(ops)
        gops._freezer.frozen(self.inner.on_day, gops)
