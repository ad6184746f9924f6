"""Throughput of experiment execution: runs per minute in-process, on local processes and on a
Dask LocalCluster, and the time of the analysis.

Uses `experiments/tiered_vs_blanket.yaml` (3 arms) scaled by --users/--days/--replications, written
to a temporary folder per backend. The tables of every backend are compared, so the benchmark
also checks that the backends agree.

    python benchmarks/bench_experiment.py                       # 20k users, 180 days, 2 reps
    python benchmarks/bench_experiment.py --users 50000 --replications 3 --no-dask

Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.experiment.analysis import analyse_experiment
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_cells
from sim.experiment.spec import load_experiment_data, parse_experiment

ROOT = Path(__file__).resolve().parent.parent


def run_backend(config: Path, out: Path, overrides: dict, **execution) -> tuple[float, int]:
    raw = load_experiment_data(config, **overrides)
    spec = parse_experiment(raw, str(config))
    cells = plan_cells(spec, raw, str(config))
    t0 = time.perf_counter()
    result = execute_experiment(
        spec, cells, str(config), out, Execution(progress=False, **execution)
    )
    return time.perf_counter() - t0, result.ran


def users_tables(folder: Path) -> list[pd.DataFrame]:
    index = pd.read_parquet(folder / "index.parquet").sort_values("run_id")
    return [pd.read_parquet(folder / p / "users.parquet") for p in index["path"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "tiered_vs_blanket.yaml")
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    overrides = {"users": args.users, "days": args.days, "replications": args.replications}
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        backends = [
            ("in-process", {"workers": 1}),
            (f"{cores} local processes", {"workers": cores}),
        ]
        if not args.no_dask:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=cores, threads_per_worker=1, dashboard_address=None)
            backends.append((f"Dask LocalCluster ({cores} workers)",
                             {"scheduler": cluster.scheduler_address}))  # fmt: skip
        reference = None
        for i, (name, execution) in enumerate(backends):
            seconds, runs = run_backend(args.config, tmp / f"b{i}", overrides, **execution)
            tables = users_tables(tmp / f"b{i}")
            if reference is None:
                reference = tables
            same = all(a.equals(b) for a, b in zip(reference, tables, strict=True))
            rows.append((name, runs, seconds, same))
            print(f"{name}: {runs} runs in {seconds:.1f} s ({60 * runs / seconds:.1f} runs/min), "
                  f"identical to in-process: {same}", flush=True)  # fmt: skip
        t0 = time.perf_counter()
        analyse_experiment(tmp / "b0")
        analysis_s = time.perf_counter() - t0
        if not args.no_dask:
            cluster.close()
    print(f"\nanalysis of the {rows[0][1]} runs: {analysis_s:.1f} s\n")
    print(f"{args.users:,} users × {args.days} days, {args.replications} replications\n")
    print("| backend | runs | wall | runs/min | tables identical |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs, seconds, same in rows:
        print(f"| {name} | {runs} | {seconds:.1f} s | {60 * runs / seconds:.1f} | {same} |")


if __name__ == "__main__":
    main()
