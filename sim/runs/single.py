"""Running one experiment config end to end: strategies, simulation, run folder, summary."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.config import ExperimentConfig
from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation, SimulationResult
from sim.plots.run import plot_run
from sim.runs.folder import check_writable, write_run
from sim.runs.manifest import build_manifest
from strategies.base import Strategy


def simulate(
    config: ExperimentConfig, strategies: list[Strategy], show_progress: bool = False
) -> SimulationResult:
    """Run the simulation in memory, optionally with a progress bar."""
    result = _simulate(config, strategies, show_progress)
    # the finished Simulation is a reference cycle (its strategies' Operations point back at
    # it): collect it now, so its user columns are gone before the tables are written
    gc.collect()
    return_freed_memory()
    return result


def return_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    The user columns of a finished simulation are freed into the heap, where glibc keeps them
    resident (after the first large free it serves arrays of a few MB from the heap, not from
    their own mappings); at 1M users that is ~240 MB held while the tables are written and
    plotted. Elsewhere than glibc (macOS, musl) there is no such call and nothing is done.
    """
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def _simulate(
    config: ExperimentConfig, strategies: list[Strategy], show_progress: bool
) -> SimulationResult:
    if not show_progress:
        return Simulation(config, strategies).run()
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("days"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"simulating {config.name}", total=config.days)
        sim = Simulation(config, strategies, on_day_done=lambda d: progress.advance(task))
        return sim.run()


def run_to_folder(
    config: ExperimentConfig,
    out_dir: Path,
    source: str | None = None,
    overwrite: bool = False,
    show_progress: bool = False,
) -> tuple[Path, SimulationResult, dict]:
    """Simulate ``config`` and write its run folder atomically. Returns (path, result, manifest).

    The destination is checked before simulating, so a refusal costs nothing; a failure while
    writing leaves any earlier run at ``out_dir`` untouched.
    """
    t0 = time.perf_counter()
    strategies = build_strategies(config, source or "<config>")
    check_writable(out_dir, overwrite, inputs=[source] if source else [])
    result = simulate(config, strategies, show_progress)
    timings = dict(result.timings)
    plots = (lambda d: _plot_run(result.tables, d)) if config.output.plots else None
    t1 = time.perf_counter()
    manifest = build_manifest(config, source, timings)
    manifest["timings"]["total_s"] = round(time.perf_counter() - t0, 3)
    path = write_run(out_dir, result.tables, manifest, plots=plots, overwrite=overwrite)
    manifest["timings"]["write_s"] = round(time.perf_counter() - t1, 3)
    return path, result, manifest


def _plot_run(tables: dict, folder: Path) -> list[str]:
    """The run's plots (drawn while the Parquet files are written), after the C heap's free
    pages left since the simulation ended are given back, so they do not add to the peak."""
    return_freed_memory()
    return plot_run(tables, folder)


def run_in_memory(
    config: ExperimentConfig, source: str | None = None, show_progress: bool = False
) -> tuple[SimulationResult, dict]:
    """Simulate ``config`` without writing anything. Returns (result, manifest): the manifest
    :func:`run_to_folder` would write, without the folder's file list."""
    t0 = time.perf_counter()
    result = simulate(config, build_strategies(config, source or "<config>"), show_progress)
    manifest = build_manifest(config, source, dict(result.timings))
    manifest["timings"]["total_s"] = round(time.perf_counter() - t0, 3)
    return result, manifest


def default_out_dir(config: ExperimentConfig, root: Path = Path("runs")) -> Path:
    """``runs/<name>-<hash of the resolved config>``."""
    import hashlib

    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:10]
    return root / f"{config.name}-{digest}"


def console() -> Console:
    return Console(highlight=False)
