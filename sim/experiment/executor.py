"""Executing an experiment's runs: in this process, in local worker processes, or on Dask.

Every backend calls the same :func:`sim.experiment.worker.execute_task`, and every random draw is
keyed by the run's seed, so the tables are identical whichever backend ran them. Results stream to
disk run by run; the index is rewritten after each one. ``resume`` skips the runs whose folders
are complete; a failed run is recorded in the index with its error and the others go on.

Progress: one bar for the whole experiment and one per run in flight (days simulated), fed by a
queue that worker processes or Dask workers write to. A caller without a terminal (the policy lab)
passes ``on_progress`` / ``on_run_done`` callbacks instead, and a ``cancel`` event: setting it
stops the experiment as Ctrl-C does (:class:`Cancelled`; the folder is left ``interrupted`` and
``--resume`` continues it).
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sim.errors import ConfigError, OutputRefused
from sim.experiment.index import (
    config_hash,
    experiment_manifest,
    index_frame,
    read_index,
    read_manifest,
    write_index,
    write_manifest,
)
from sim.experiment.plan import Cell, RunTask, plan_runs, validate_policies
from sim.experiment.spec import ExperimentSpec
from sim.experiment.worker import execute_task, init_local_worker, queue_progress
from sim.io.atomic import swap_in
from sim.io.ownership import FOLDER, claim_output
from sim.runs.folder import NotARunFolder, RunFolderExists, is_complete_run, write_run


@dataclass(frozen=True)
class Execution:
    """Where and how to run: ``workers`` local processes (1 = in this process) or a Dask
    ``scheduler`` address; ``resume`` an interrupted experiment; ``overwrite`` a finished one."""

    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    on_progress: Callable[[str, int], None] | None = None  # (run id, days simulated)
    on_run_done: Callable[[dict[str, Any]], None] | None = None  # a run's outcome, as indexed
    cancel: threading.Event | None = None  # set it to stop the experiment (like Ctrl-C)


class Cancelled(KeyboardInterrupt):
    """The caller's ``cancel`` event was set: the experiment stops as on Ctrl-C (an
    interruption, resumable), so a run in this process cannot swallow it as a failure."""


@dataclass
class ExperimentOutcome:
    folder: Path
    index: pd.DataFrame
    ran: int
    skipped: int
    failed: int
    elapsed_s: float


# --------------------------------------------------------------------------- the folder
def _prepare_folder(spec: ExperimentSpec, out_dir: Path, execution: Execution, source: str) -> Path:
    """The folder runs are written to: ``out_dir`` itself, or a staging folder when an
    existing experiment is overwritten (published only when the new one has finished)."""
    try:  # the one output rule; an existing experiment's fate is decided below
        claim_output(out_dir, inputs=[source], overwrite=True, kind=FOLDER,
                     is_ours=lambda p: read_manifest(p) is not None,
                     what="siyu experiment (no valid experiment.json)")  # fmt: skip
    except OutputRefused as exc:
        raise NotARunFolder(str(exc)) from exc
    existing = read_manifest(out_dir) if out_dir.exists() else None
    if existing is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir
    same = existing.get("config_hash") == config_hash(spec)
    if execution.resume and same:
        return out_dir
    if execution.resume and not same and not execution.overwrite:
        raise RunFolderExists(
            f"{out_dir} holds the experiment {existing.get('name')!r} run with a different "
            "config; --resume only continues the same config. Use --overwrite or another --out."
        )
    if not execution.overwrite:
        state = existing.get("status", "unknown")
        raise RunFolderExists(
            f"{out_dir} already holds an experiment ({state}); use --resume to continue it, "
            "--overwrite to replace it, or a different --out."
        )
    staging = out_dir.parent / f".{out_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)  # a stale staging from an interrupted overwrite
    staging.mkdir(parents=True)
    return staging


def _remove_partial_writes(folder: Path) -> None:
    """Temporary folders of runs that were being written when a previous execution died."""
    cells = folder / "cells"
    if cells.is_dir():
        for tmp in cells.glob("*/*/.rep-*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)


def _previous_outcomes(folder: Path, tasks: list[RunTask]) -> dict[str, dict]:
    """Runs already complete on disk (kept on resume), with their recorded times."""
    _remove_partial_writes(folder)
    elapsed: dict[str, float] = {}
    try:
        old = read_index(folder)
        elapsed = dict(zip(old["run_id"], old["elapsed_s"], strict=True))
    except (OSError, ValueError, KeyError):
        pass
    return {
        t.run_id: {"status": "done", "elapsed_s": elapsed.get(t.run_id, float("nan"))}
        for t in tasks
        if is_complete_run(folder / t.relpath)
    }


# --------------------------------------------------------------------------- progress
class _Bars:
    """Rich progress bars: the whole experiment and each run in flight."""

    def __init__(self, total: int, days: int, title: str, execution: Execution) -> None:
        self.days = days
        self.enabled = execution.progress
        self.listener = execution.on_progress
        self.cancel = execution.cancel
        self.wanted = self.enabled or self.listener is not None  # workers report progress
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), disable=not self.enabled,
        )  # fmt: skip
        self.overall = self.progress.add_task(title, total=total)
        self.runs: dict[str, Any] = {}
        self.lock = threading.Lock()

    def day(self, run_id: str, days_done: int) -> None:
        if self.listener is not None:
            self.listener(run_id, days_done)
        with self.lock:
            if run_id not in self.runs:
                self.runs[run_id] = self.progress.add_task(f"  {run_id}", total=self.days)
            self.progress.update(self.runs[run_id], completed=days_done)

    def finished(self, run_id: str) -> None:
        with self.lock:
            bar = self.runs.pop(run_id, None)
            if bar is not None:
                self.progress.remove_task(bar)
            self.progress.advance(self.overall)

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the experiment was cancelled")

    def in_process_day(self, run_id: str, days_done: int) -> None:
        """Progress of a run simulated in this process, where a cancel stops it mid-run."""
        self.check_cancel()
        self.day(run_id, days_done)


def _drain(get: Callable[[], list], bars: _Bars, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            items = get()
        except (queue.Empty, TimeoutError, EOFError, OSError):
            continue
        except Exception:  # the queue went away with its backend: stop quietly
            return
        for run_id, days in items:
            bars.day(run_id, days)


def _mp_get(q: Any) -> Callable[[], list]:
    return lambda: [q.get(timeout=0.2)]


def _dask_get(q: Any) -> Callable[[], list]:
    """All queued items without blocking (a blocking get with a timeout makes the scheduler log
    an error each time it expires)."""

    def get() -> list:
        items = q.get(batch=True)
        if not items:
            time.sleep(0.25)
        return items

    return get


@contextmanager
def _listening(get: Callable[[], list], bars: _Bars) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=_drain, args=(get, bars, stop), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


class _DaskProgress:
    """Picklable progress callback writing to a named distributed Queue."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, run_id: str, days: int) -> None:
        from distributed import Queue

        Queue(self.name).put((run_id, days))


# --------------------------------------------------------------------------- backends
Record = Callable[[dict[str, Any]], None]


def _crashed(task: RunTask, error: str) -> dict[str, Any]:
    """The outcome of a run whose worker died before it could report."""
    return {"run_id": task.run_id, "status": "failed", "elapsed_s": float("nan"),
            "error": error, "traceback": ""}  # fmt: skip


def _run_here(specs, tasks, source, folder, bars: _Bars, record: Record) -> None:
    for task in tasks:
        bars.check_cancel()
        record(execute_task(specs[task.cell_id], task, source, str(folder), bars.in_process_day))


def _run_processes(specs, tasks, source, folder, workers, bars: _Bars, record: Record) -> None:
    # forkserver: workers fork from a clean server that has the engine imported already (fork
    # from this process is unsafe with the progress thread; spawn re-imports everything per
    # worker)
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["sim.experiment.worker"])
    q = ctx.Queue()
    # workers exit when the write end closes: when this process dies, or on purpose below
    lifeline, keep_alive = ctx.Pipe(duplex=False)
    progress = queue_progress if bars.wanted else None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=init_local_worker, initargs=(lifeline, q))  # fmt: skip
    try:
        with _listening(_mp_get(q), bars):
            futures = {
                pool.submit(execute_task, specs[t.cell_id], t, source, str(folder), progress): t
                for t in tasks
            }
            running = set(futures)
            while running:  # woken regularly, so a cancel is seen while runs are in flight
                done, running = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        record(future.result())
                    except Exception as exc:  # the worker process itself died
                        record(_crashed(futures[future], f"worker process failed: {exc!r}"))
                bars.check_cancel()
    except BaseException:  # Ctrl-C or a failure here: stop the workers now, queued runs too
        keep_alive.close()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        keep_alive.close()
        lifeline.close()
        q.close()


def _run_dask(specs, tasks, source, folder, address, bars: _Bars, record: Record) -> None:
    try:
        from distributed import Client, Queue
        from distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ConfigError("--scheduler needs dask.distributed: pip install -e '.[dask]'") from exc
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from exc
    with client:
        name = f"siyu-progress-{uuid.uuid4().hex[:8]}"
        q = Queue(name, client=client)
        progress = _DaskProgress(name) if bars.wanted else None
        futures = {
            client.submit(execute_task, specs[t.cell_id], t, source, None, progress, pure=False,
                          key=f"siyu-{t.run_id.replace('/', '-')}-{uuid.uuid4().hex[:6]}"): t
            for t in tasks
        }  # fmt: skip
        with _listening(_dask_get(q), bars):
            for future in dask_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except Exception as exc:
                    result = _crashed(task, f"dask task failed: {exc!r}")
                if result.get("status") == "done" and "tables" in result:
                    target = folder / task.relpath
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_run(target, result.pop("tables"), result.pop("manifest"),
                              overwrite=True)  # fmt: skip
                record(result)
                future.release()
                bars.check_cancel()


# --------------------------------------------------------------------------- the whole run
def _stopped(
    folder: Path, out_dir: Path, created: bool, started: bool, interrupted: bool, manifest: dict
) -> None:
    """After an execution stopped early: an experiment that never started leaves nothing (a
    folder this call created, or a staging folder, is removed); otherwise its manifest says
    ``interrupted`` or ``failed`` — never ``running`` — and ``--resume`` continues it."""
    if folder != out_dir or (created and not started):
        shutil.rmtree(folder, ignore_errors=True)
        return
    manifest["status"] = "interrupted" if interrupted else "failed"
    write_manifest(folder, manifest)


def execute_experiment(
    spec: ExperimentSpec,
    cells: list[Cell],
    source: str,
    out_dir: Path,
    execution: Execution = Execution(),
) -> ExperimentOutcome:
    """Run every planned run not yet done and keep the folder's index current."""
    t0 = time.time()
    validate_policies(cells, source)
    tasks = plan_runs(cells, spec.replications, spec.seed)
    created = not out_dir.exists()
    folder = _prepare_folder(spec, out_dir, execution, source)
    outcomes = _previous_outcomes(folder, tasks) if folder == out_dir else {}
    pending = [t for t in tasks if t.run_id not in outcomes]
    labels = {arm: spec.label(arm) for arm in spec.arm_names}
    write_manifest(folder, experiment_manifest(spec, cells, source, "running", t0))
    write_index(folder, index_frame(tasks, outcomes, labels))

    failed = 0
    lock = threading.Lock()
    errors_dir = folder / "errors"

    def record(result: dict[str, Any]) -> None:
        nonlocal failed
        with lock:
            detail = result.pop("traceback", "")
            outcomes[result["run_id"]] = result
            if result["status"] == "failed":
                failed += 1
                errors_dir.mkdir(exist_ok=True)
                name = result["run_id"].replace("/", "_") + ".txt"
                (errors_dir / name).write_text(f"{result['error']}\n\n{detail}", encoding="utf-8")
            write_index(folder, index_frame(tasks, outcomes, labels))
            bars.finished(result["run_id"])
            if execution.on_run_done is not None:
                execution.on_run_done(dict(result))

    specs = {cell.cell_id: cell.spec.model_dump(mode="json") for cell in cells}
    bars = _Bars(len(pending), spec.days, f"{spec.name}: runs", execution)
    workers = execution.workers or os.cpu_count() or 1
    before = len(outcomes)
    try:
        with bars.progress:
            if not pending:
                pass
            elif execution.scheduler:
                _run_dask(specs, pending, source, folder, execution.scheduler, bars, record)
            elif workers <= 1 or len(pending) == 1:
                _run_here(specs, pending, source, folder, bars, record)
            else:
                _run_processes(specs, pending, source, folder, min(workers, len(pending)),
                               bars, record)  # fmt: skip
    except BaseException as exc:
        _stopped(
            folder,
            out_dir,
            created,
            started=len(outcomes) > before,
            interrupted=isinstance(exc, KeyboardInterrupt),
            manifest=experiment_manifest(spec, cells, source, "", t0),
        )
        raise

    status = "complete" if failed == 0 else "complete-with-failures"
    write_manifest(folder, experiment_manifest(spec, cells, source, status, t0))
    if folder != out_dir:
        swap_in(folder, out_dir)
    index = read_index(out_dir)
    return ExperimentOutcome(
        out_dir, index, ran=len(pending), skipped=len(tasks) - len(pending), failed=failed,
        elapsed_s=time.time() - t0,
    )  # fmt: skip
