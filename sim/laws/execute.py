"""Running the jobs the laws need: simulations of :class:`~sim.laws.plan.Run` (reduced to their
metrics at once, so memory stays flat), the churn model's training and evaluation, and the facts
replay. Sequential in-process, or in ``workers`` local processes; either way a rich progress bar
on stderr counts the jobs.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sim.analysis.law_measures import MissingData
from sim.churn.model import ChurnModelError
from sim.laws.metrics import run_metrics
from sim.laws.plan import BASELINE, ChurnModelJob, FactsJob, Job, Plan, Run, scaled
from sim.runs.churn_training import train_and_evaluate
from sim.runs.facts import replay_facts, run_with_snapshot
from sim.world.threads import one_thread_per_worker

CHURN_TRAIN_SEED_OFFSETS = (1, 2)
CHURN_TEST_SEED_OFFSETS = (3,)


def run_job(plan: Plan, job: Job) -> Any:
    """The result of one job (a MissingData when the job cannot give one)."""
    if isinstance(job, Run):
        return simulate(plan, job)
    if isinstance(job, ChurnModelJob):
        return churn_model(plan, job)
    if isinstance(job, FactsJob):
        return facts(plan, job)
    raise TypeError(f"unknown job {job!r}")


def simulate(plan: Plan, run: Run) -> dict[str, Any]:
    """Simulate ``run`` on the plan's world (with the disengagement snapshot) → its metrics."""
    config = plan.run_config(run)
    snapshot_day = min(max(plan.snapshot_day, 0), config.days - 1)
    tables, snapshot = run_with_snapshot(config, snapshot_day)
    return run_metrics(tables, snapshot, plan.products)


def churn_model(plan: Plan, job: ChurnModelJob) -> dict[str, Any] | MissingData:
    """Held-out evaluation of the churn model trained on the baseline world at ``job.users``."""
    config = scaled(plan.run_config(BASELINE), users=job.users)
    seed = config.seed
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = train_and_evaluate(
                config, [seed + k for k in CHURN_TRAIN_SEED_OFFSETS],
                [seed + k for k in CHURN_TEST_SEED_OFFSETS], job.snapshot_day, job.window,
                Path(tmp) / "churn_model.json",
            )  # fmt: skip
    except (ChurnModelError, ValueError) as exc:
        return MissingData(f"churn model: {exc}")
    keys = ("auc", "n", "base_rate", "train_n", "boosting_auc")
    return {k: report[k] for k in keys}


def facts(plan: Plan, job: FactsJob) -> list[dict[str, Any]] | MissingData:
    """The facts replay on the plan's world, as records (``within_band`` None for figures not
    asserted)."""
    try:
        table = replay_facts(users=job.users, days=job.days, seed=job.seed, world=plan.config)
    except ValueError as exc:
        return MissingData(f"facts replay: {exc}")
    records = table.to_dict("records")
    for row in records:
        row["within_band"] = None if pd.isna(row["within_band"]) else bool(row["within_band"])
    return records


def run_jobs(
    plan: Plan, jobs: Sequence[Job], workers: int = 1, progress: bool = True
) -> dict[Job, Any]:
    """Every job's result, in ``workers`` processes (1 = in this process)."""
    columns = (
        TextColumn("[bold]laws[/bold]"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
        TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
    )  # fmt: skip
    console = Console(stderr=True)
    with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task("", total=len(jobs))

        def done(job: Job) -> None:
            bar.update(task, advance=1, description=_short_label(job))

        if workers <= 1:
            return _sequential(plan, jobs, done, lambda job: bar.update(
                task, description=_short_label(job)))  # fmt: skip
        return _in_processes(plan, jobs, workers, done)


def _sequential(
    plan: Plan, jobs: Sequence[Job], done: Callable[[Job], None], starting: Callable[[Job], None]
) -> dict[Job, Any]:
    results: dict[Job, Any] = {}
    for job in jobs:
        starting(job)
        results[job] = run_job(plan, job)
        done(job)
    return results


def _in_processes(
    plan: Plan, jobs: Sequence[Job], workers: int, done: Callable[[Job], None]
) -> dict[Job, Any]:
    results: dict[Job, Any] = {}
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=one_thread_per_worker
    ) as pool:
        futures = {pool.submit(run_job, plan, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            results[job] = future.result()
            done(job)
    return {job: results[job] for job in jobs}


def _short_label(job: Job, width: int = 28) -> str:
    label = job.label
    return label if len(label) <= width else label[: width - 1] + "…"
