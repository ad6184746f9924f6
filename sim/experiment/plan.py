"""Planning an experiment: sweep cells, replication seeds and the list of runs to execute.

A *cell* is one point of a sweep (or the whole experiment when there is no sweep): a fully
validated :class:`ExperimentSpec` with the swept values written in. A *run* is one world: one
cell × one arm × one replication, written to ``cells/<cell>/<arm>/rep-<r>/`` as a standard run
folder.

Replication ``r`` has the same seed in every arm and every cell (common random numbers), derived
from the experiment's seed: seeds do not depend on how many replications or cells there are, so
adding replications later reuses the runs already made. :func:`validate_policies` builds
every arm's strategies of a plan (what ``siyu validate`` and ``siyu run`` check before any run).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.policy import build_strategies
from sim.errors import ConfigError
from sim.experiment.spec import (
    CONTROL,
    ExperimentSpec,
    RangeSpec,
    load_experiment_data,
    parse_experiment,
)
from sim.rng import Purpose, draw_key, generator

BASE_CELL = "base"


@dataclass(frozen=True)
class Cell:
    """One point of the sweep: its id, the values set, and the resulting experiment."""

    cell_id: str
    values: dict[str, Any]
    spec: ExperimentSpec


@dataclass(frozen=True)
class RunTask:
    """One world to simulate."""

    cell_id: str
    arm: str
    replication: int
    seed: int
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return f"{self.cell_id}/{self.arm}/rep-{self.replication}"

    @property
    def relpath(self) -> str:
        return f"cells/{self.run_id}"


def replication_seed(base_seed: int, replication: int) -> int:
    """The seed of replication ``replication`` (the same in every arm and cell)."""
    return int(draw_key(base_seed, Purpose.REPLICATION, replication)) & ((1 << 63) - 1)


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.0.c`` in nested dicts/lists, creating missing mappings on the way."""
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"sweep parameter {path!r}: {where} is not an item of a list")
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
            if not last and node.get(key) is None:
                node[key] = {}
        else:
            raise ConfigError(f"sweep parameter {path!r}: {where} is inside a plain value")
        if last:
            node[key] = value
        else:
            node = node[key]


def _grid(parameters: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(parameters)
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*parameters.values())
    ]


def _scale(u: float, spec: RangeSpec | list[Any]) -> Any:
    """Map a unit-interval draw to a value of the range or list."""
    if isinstance(spec, list):
        return spec[min(int(u * len(spec)), len(spec) - 1)]
    if spec.log:
        value = math.exp(math.log(spec.low) + u * (math.log(spec.high) - math.log(spec.low)))
    else:
        value = spec.low + u * (spec.high - spec.low)
    return int(round(value)) if spec.integer else float(value)


def _samples(spec: ExperimentSpec) -> list[dict[str, Any]]:
    sweep = spec.sweep
    assert sweep is not None and sweep.samples is not None
    names = list(sweep.parameters)
    if sweep.method == "lhs":
        # lazy: scipy.stats takes most of a second to import; only a Latin-hypercube sweep needs it
        from scipy.stats import qmc

        key = int(draw_key(spec.seed, Purpose.SWEEP))
        sampler = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(key))
        units = sampler.random(sweep.samples)
    else:
        units = generator(spec.seed, Purpose.SWEEP).random((sweep.samples, len(names)))
    return [
        {name: _scale(float(u), sweep.parameters[name]) for name, u in zip(names, row, strict=True)}
        for row in np.asarray(units)
    ]


def sweep_points(spec: ExperimentSpec) -> list[dict[str, Any]]:
    """The parameter values of every cell, in a stable order."""
    if spec.sweep is None:
        return [{}]
    if spec.sweep.method == "grid":
        return _grid(spec.sweep.parameters)
    return _samples(spec)


def plan_cells(spec: ExperimentSpec, raw: dict[str, Any], source: str) -> list[Cell]:
    """Validate every cell of the sweep up front, so a bad value fails before any run."""
    points = sweep_points(spec)
    if spec.sweep is None:
        return [Cell(BASE_CELL, {}, spec)]
    width = max(3, len(str(len(points) - 1)))
    cells = []
    for i, values in enumerate(points):
        data = copy.deepcopy(raw)
        data.pop("sweep", None)
        for path, value in values.items():
            set_path(data, path, value)
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        cell_spec = parse_experiment(data, f"{source} (sweep cell {i}: {shown})")
        cells.append(Cell(f"c{i:0{width}d}", values, cell_spec))
    return cells


def plan_experiment_file(path: str | Path, **overrides: Any) -> tuple[ExperimentSpec, list[Cell]]:
    """Read an experiment file with overrides (seed, users, days, replications), validate it and
    plan its sweep cells: what ``siyu run``, ``siyu validate`` and :func:`sim.run_experiment`
    start from."""
    raw = load_experiment_data(path, **overrides)
    spec = parse_experiment(raw, str(path))
    return spec, plan_cells(spec, raw, str(path))


def plan_runs(cells: list[Cell], replications: int, base_seed: int) -> list[RunTask]:
    """Every run, ordered replication-major so early results already cover every arm."""
    tasks = []
    for rep in range(replications):
        seed = replication_seed(base_seed, rep)
        for cell in cells:
            for arm in cell.spec.arm_names:
                tasks.append(RunTask(cell.cell_id, arm, rep, seed, cell.values))
    return tasks


def arms_of(cells: list[Cell]) -> list[str]:
    """Arm names (control first) — the same in every cell."""
    return cells[0].spec.arm_names if cells else [CONTROL]


def validate_policies(cells: list[Cell], source: str) -> None:
    """Build every arm's strategies once, so bad parameters fail before any simulation, with a
    message naming the cell (its swept values) and the arm."""
    for cell in cells:
        shown = ", ".join(f"{k}={v}" for k, v in cell.values.items())
        where = f"{source} (sweep cell {cell.cell_id}: {shown})" if shown else source
        for arm in cell.spec.arm_names:
            policy = "control" if arm == CONTROL else f"arms.{arm}"
            build_strategies(cell.spec.treatment_config(arm, 0), f"{where}: {policy}")
