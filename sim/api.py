"""The Python front door: run a config or an experiment, and read their folders back.

    import sim
    r = sim.run("experiments/quickstart.yaml", users=2000, days=30)   # nothing written
    r.tables["daily"]                                                  # name -> DataFrame
    e = sim.run_experiment("experiments/tiered_vs_blanket.yaml", out="runs/tvb")
    e.comparison                                     # the table `siyu compare` prints
    sim.load_run(e.folder / e.runs[0]), sim.load_experiment("runs/tvb")

These four functions are what the ``siyu`` commands call (DESIGN.md point 10); they add no
computation of their own: a run is :mod:`sim.runs.single`, an experiment is
:mod:`sim.experiment.executor` then :mod:`sim.experiment.analysis`. :class:`RunResult` is the
front door's view of a run (tables, config, manifest, folder); the engine's in-memory output is
:class:`sim.engine.simulation.SimulationResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from sim.config import ExperimentConfig, apply_overrides, load_config, parse_config, read_yaml
from sim.errors import ConfigError
from sim.experiment.analysis import analyse_experiment, load_analysis, load_experiment_folder
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_experiment_file
from sim.experiment.spec import ExperimentSpec, is_experiment
from sim.runs import folder as run_folder
from sim.runs.single import run_in_memory, run_to_folder

ConfigInput = str | Path | Mapping[str, Any] | ExperimentConfig


@dataclass
class RunResult:
    """One run: its tables (name -> DataFrame: ``daily``, ``users``, ``transitions``,
    ``purchases``, ``groups``, ``costs``, ``user_costs``), the resolved config, the manifest
    (config, seed, versions, timings; with a folder, exactly its ``manifest.json``) and the
    absolute run folder (None when nothing was written). Tables of a loaded run are read on
    first use."""

    config: ExperimentConfig
    tables: Mapping[str, pd.DataFrame]
    manifest: dict[str, Any]
    folder: Path | None = None


@dataclass
class ExperimentResult:
    """One experiment folder: ``comparison`` (every arm × metric against control, the table
    ``siyu compare`` prints), every analysis table by name in ``tables``, the validated
    ``spec`` and the ``index`` of runs (cell, arm, replication, seed, status, error, path)."""

    folder: Path
    spec: ExperimentSpec
    comparison: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    index: pd.DataFrame

    @property
    def runs(self) -> list[Path]:
        """The run folders, relative to :attr:`folder`, in index order."""
        return [Path(p) for p in self.index["path"]]


# --------------------------------------------------------------------------- single runs
def _experiment_given(source: str) -> ConfigError:
    return ConfigError(
        f"{source}: this is an experiment (it has 'arms:' or 'control:'); run it with "
        "sim.run_experiment(path, out=...) (or `siyu run`), not sim.run"
    )


def _not_an_experiment(data: Mapping[str, Any], source: str) -> None:
    if is_experiment(data):
        raise _experiment_given(source)


def resolve_config(
    config: ConfigInput,
    *,
    users: int | None = None,
    days: int | None = None,
    seed: int | None = None,
) -> tuple[ExperimentConfig, str | None]:
    """The validated config of a run and how its errors and manifest name it.

    ``config`` is a path to a run YAML (named by its path), raw config data (``"<dict>"``) or an
    :class:`ExperimentConfig` (unnamed); ``users``/``days``/``seed`` override it like the
    command-line flags. Errors are :class:`ConfigError` naming the source and the key.
    """
    overrides = {"users": users, "days": days, "seed": seed}
    if isinstance(config, ExperimentSpec):
        raise _experiment_given("<config>")
    if isinstance(config, ExperimentConfig):
        if all(v is None for v in overrides.values()):
            return config, None
        return parse_config(apply_overrides(config.model_dump(), **overrides), "<config>"), None
    if isinstance(config, Mapping):
        _not_an_experiment(config, "<dict>")
        return parse_config(apply_overrides(dict(config), **overrides), "<dict>"), "<dict>"
    path = Path(config)
    _not_an_experiment(read_yaml(path), str(path))
    return load_config(path, **overrides), str(path)


def run(
    config: ConfigInput,
    *,
    users: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    source: str | None = None,
) -> RunResult:
    """Simulate one world under the config's policy (its ``strategies:`` and ``rules:``).

    With ``out`` the run folder is written atomically, as ``siyu run`` writes it (``overwrite``
    replaces an earlier run there; the destination is checked before simulating); without it
    nothing is written. ``progress`` shows a progress bar. ``source`` renames the config in
    errors and the manifest (default: see :func:`resolve_config`).
    """
    resolved, named = resolve_config(config, users=users, days=days, seed=seed)
    source = source or named
    if out is None:
        result, manifest = run_in_memory(resolved, source, show_progress=progress)
        return RunResult(resolved, result.tables, manifest)
    path, result, _ = run_to_folder(resolved, Path(out), source, overwrite, progress)
    return RunResult(resolved, result.tables, run_folder.load_run(path).manifest, path)


def load_run(path: str | Path) -> RunResult:
    """Open a complete run folder (written by :func:`run`, ``siyu run`` or an experiment).

    ``folder`` is made absolute, so tables (read on first use) are found after a ``chdir``."""
    opened = run_folder.load_run(Path(path).absolute())
    try:
        config = ExperimentConfig.model_validate(opened.manifest.get("config"))
    except ValidationError as err:
        raise run_folder.RunFolderError(
            f"{opened.path}: the config in manifest.json is not valid for this version of siyu "
            f"({err.error_count()} problem(s), first: {err.errors()[0]['msg']})"
        ) from None
    return RunResult(config, opened.tables, opened.manifest, opened.path)


# --------------------------------------------------------------------------- experiments
def run_experiment(
    path: str | Path,
    *,
    out: str | Path,
    users: int | None = None,
    days: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """Run every arm × replication × sweep cell of an experiment file into ``out``, analyse it
    and return the result (as :func:`load_experiment` reads it back).

    ``workers`` local processes (default: CPU count; 1 = this process) or a Dask ``scheduler``
    address; ``resume`` continues an interrupted experiment, ``overwrite`` replaces a finished
    one. Failed runs do not stop the others: they are in ``result.index`` with their error.
    """
    overrides = {"users": users, "days": days, "seed": seed, "replications": replications}
    spec, cells = plan_experiment_file(path, **overrides)
    execution = Execution(workers=workers, scheduler=scheduler, resume=resume,
                          overwrite=overwrite, progress=progress)  # fmt: skip
    outcome = execute_experiment(spec, cells, str(path), Path(out), execution)
    analyse_experiment(outcome.folder)
    return load_experiment(outcome.folder)


def load_experiment(path: str | Path) -> ExperimentResult:
    """Open an experiment folder (``folder`` made absolute). Like ``siyu compare``, a folder
    never analysed is analysed first (writing its ``analysis/``)."""
    folder = Path(path).absolute()
    spec, _, index = load_experiment_folder(folder)
    tables = load_analysis(folder)
    if not tables:
        analyse_experiment(folder)
        tables = load_analysis(folder)
    return ExperimentResult(folder, spec, tables["comparison"], tables, index)
