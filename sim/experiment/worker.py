"""Simulating one run of an experiment (one cell × arm × replication), wherever it executes.

The functions here take only plain data (the experiment as a dict, a :class:`RunTask`), so they
run the same in this process, in a local worker process or on a Dask worker. A failure is
returned as data (status, error, traceback), never raised, so one broken run does not stop the
others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation
from sim.experiment.plan import RunTask
from sim.experiment.spec import CONTROL, ExperimentSpec
from sim.runs.folder import write_run
from sim.runs.manifest import build_manifest
from sim.world.threads import one_thread_per_worker

Progress = Callable[[str, int], None]  # (run id, days done)
_progress_queue: Any = None  # a local worker process's queue to the parent's progress bars

# report progress every this many simulated days (cheap enough across processes)
PROGRESS_EVERY_DAYS = 5


def build_simulation(
    spec: ExperimentSpec, task: RunTask, source: str, on_day_done=None
) -> Simulation:
    """The world of one run: control policy for everyone, or split with the arm's policy."""
    config = spec.run_config(task.arm, task.seed)
    control = build_strategies(config, f"{source}: control")
    if task.arm == CONTROL:
        return Simulation(config, control, on_day_done=on_day_done, assignment=spec.randomisation)
    arm_config = spec.treatment_config(task.arm, task.seed)
    treatment = build_strategies(arm_config, f"{source}: arms.{task.arm}")
    return Simulation(
        config, control, on_day_done=on_day_done, treatment=treatment,
        assignment=spec.randomisation,
    )  # fmt: skip


def run_manifest(spec: ExperimentSpec, task: RunTask, source: str, timings: dict) -> dict:
    """The run folder's manifest: the world's config plus where the run sits in the experiment."""
    config = spec.run_config(task.arm, task.seed)
    manifest = build_manifest(config, source, timings)
    manifest["experiment"] = {
        "name": spec.name,
        "run_id": task.run_id,
        "cell": task.cell_id,
        "sweep_values": task.values,
        "arm": task.arm,
        "label": spec.label(task.arm),
        "replication": task.replication,
        "seed": task.seed,
        "randomisation": spec.randomisation.model_dump(mode="json"),
        "policy": spec.policy(task.arm).model_dump(mode="json"),
        "control_policy": spec.control.model_dump(mode="json"),
    }
    return manifest


def simulate_task(
    spec_data: dict[str, Any], task: RunTask, source: str, progress: Progress | None = None
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Simulate one run in memory: (tables, manifest)."""
    spec = ExperimentSpec.model_validate(spec_data)
    t0 = time.perf_counter()

    def on_day_done(day: int) -> None:
        if progress is not None and (day + 1) % PROGRESS_EVERY_DAYS == 0:
            progress(task.run_id, day + 1)

    result = build_simulation(spec, task, source, on_day_done).run()
    timings = dict(result.timings, total_s=time.perf_counter() - t0)
    return result.tables, run_manifest(spec, task, source, timings)


def outcome(task: RunTask, status: str, elapsed: float, error: str = "", detail: str = "") -> dict:
    return {
        "run_id": task.run_id, "status": status, "elapsed_s": round(elapsed, 3),
        "error": error, "traceback": detail,
    }  # fmt: skip


def execute_task(
    spec_data: dict[str, Any],
    task: RunTask,
    source: str,
    out_root: str | None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate one run and write its folder under ``out_root`` (when given).

    Returns an outcome dict (``status`` = done | failed); with ``out_root=None`` the tables and
    manifest are returned too, for the caller to write (a Dask client without shared storage).
    """
    t0 = time.perf_counter()
    try:
        tables, manifest = simulate_task(spec_data, task, source, progress)
        if out_root is None:
            result = outcome(task, "done", time.perf_counter() - t0)
            result.update(tables=tables, manifest=manifest)
            return result
        folder = Path(out_root) / task.relpath
        folder.parent.mkdir(parents=True, exist_ok=True)
        write_run(folder, tables, manifest, plots=None, overwrite=True)
    except Exception as exc:  # a failed run is recorded, the others go on
        message = f"{type(exc).__name__}: {exc}"
        return outcome(task, "failed", time.perf_counter() - t0, message, traceback.format_exc())
    return outcome(task, "done", time.perf_counter() - t0)


# --------------------------------------------------------------------------- local workers
def init_local_worker(lifeline: Any, progress_queue: Any) -> None:
    """Initialise a local worker process (``ProcessPoolExecutor`` initializer).

    ``lifeline`` is the read end of a pipe whose only write end the parent holds: when the
    parent exits — however it dies, SIGKILL included — or closes it on purpose (Ctrl-C), the
    read sees end-of-file and the worker exits at once, so no worker outlives its experiment
    or writes runs nobody waits for (a run being written is left as a hidden temporary folder,
    which the next write cleans). Ctrl-C is the parent's to handle: workers ignore SIGINT.
    """
    global _progress_queue
    _progress_queue = progress_queue
    one_thread_per_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(lifeline,), daemon=True).start()


def _exit_with_parent(lifeline: Any) -> None:
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv()  # the parent never sends: this returns only at end-of-file
    os._exit(1)  # at once: no cleanup handlers, no more runs


def queue_progress(run_id: str, days: int) -> None:
    """Progress callback for local workers: (run id, days) to the parent's queue."""
    if _progress_queue is not None:
        _progress_queue.put((run_id, days))
