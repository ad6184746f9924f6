"""Speed and memory of the world engine: user-days per second, peak memory and where time goes.

Runs the quickstart world (experiments/quickstart.yaml: default parameters, `blanket` policy)
for 365 days at each population size and thread count, each in a fresh subprocess so its peak
resident memory (``ru_maxrss``, whole process) is its own. Arrivals keep the quickstart's
absolute daily rates. A small warm-up run first loads numba's compiled code, so compile time is
reported apart. The result tables are written as Parquet to a temporary folder (what
``siyu run`` writes, without the plots), and the sha256 of every table is compared across
thread counts: the engine promises byte-identical tables for any number of threads.

    python benchmarks/bench_world.py                      # 100k and 1M users, 1 and 2 threads
    python benchmarks/bench_world.py --ten-million        # ... and 10M users (long: ~10 min)
    python benchmarks/bench_world.py --users 200000 --days 180 --threads 1

Prints one line per run and the Markdown tables for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("behaviour_s", "actions_s", "groups_s", "tables_s", "write_s")


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def measure(users: int, days: int, config_path: Path) -> dict:
    """Run one size in this process (threads from SIYU_THREADS) and return its figures."""
    from sim.config import load_config
    from sim.engine.policy import build_strategies
    from sim.engine.simulation import Simulation
    from sim.runs.folder import write_run
    from sim.runs.manifest import build_manifest
    from sim.runs.single import return_freed_memory

    t0 = time.perf_counter()
    warm = load_config(config_path, users=1000, days=3)
    Simulation(warm, build_strategies(warm)).run()
    compile_s = time.perf_counter() - t0

    config = load_config(config_path, users=users, days=days)
    t1 = time.perf_counter()
    sim = Simulation(config, build_strategies(config))
    threads = sim.threads
    result = sim.run()
    del sim
    gc.collect()  # as `siyu run` does: the finished simulation's columns go before writing
    return_freed_memory()
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_run(Path(tmp) / "run", result.tables, build_manifest(config, None, {}))
        write_s = time.perf_counter() - t2
        digests = {p.name: file_digest(p) for p in sorted(folder.glob("*.parquet"))}
    wall = time.perf_counter() - t1
    daily = result.tables["daily"]
    slot_days = int(daily["users_registered"].sum())
    live_days = int((daily["users_registered"] - daily["stage_churned"]).sum())
    timings = dict(result.timings, write_s=write_s)
    return {
        "users": users,
        "days": days,
        "threads": threads,
        "users_at_end": int(daily["users_registered"].iloc[-1]),
        "wall_s": round(wall, 2),
        **{k: round(timings[k], 2) for k in ("setup_s", "simulate_s", *PHASES)},
        "warmup_compile_s": round(compile_s, 2),
        "user_days": slot_days,
        "live_user_days": live_days,
        "user_days_per_s": round(slot_days / wall),
        "live_user_days_per_s": round(live_days / wall),
        "behaviour_ns_per_user_day": round(1e9 * timings["behaviour_s"] / slot_days, 1),
        "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "sha256": digests,
    }


def run_one(users: int, days: int, threads: int, config: Path) -> dict:
    cmd = [sys.executable, __file__, "--one", "--users", str(users), "--days", str(days),
           "--config", str(config)]  # fmt: skip
    env = dict(os.environ, SIYU_THREADS=str(threads))
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_tables(rows: list[dict]) -> None:
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    header = ("users", "threads", "users at end", "wall (s)", "user-days/s", "live user-days/s",
              "peak RSS (MB)")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['users']:,} | {r['threads']} | {r['users_at_end']:,} | {r['wall_s']} | "
            f"{r['user_days_per_s'] / 1e6:.1f} M | {r['live_user_days_per_s'] / 1e6:.1f} M | "
            f"{r['peak_rss_mb']:,} |"
        )
    print("\nWhere the wall time goes (seconds):\n")
    print("| users | threads | behaviour | actions | groups | tables | writing | ns/user-day |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = " | ".join(f"{r[k]:.2f}" for k in PHASES)
        print(f"| {r['users']:,} | {r['threads']} | {cells} | {r['behaviour_ns_per_user_day']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--ten-million", action="store_true", help="add 10M users (long)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "quickstart.yaml")
    ap.add_argument("--json", type=Path, help="also write every run's figures here")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.users[0], args.days, args.config)))
        return 0
    sizes = args.users + ([10_000_000] if args.ten_million else [])
    rows, identical = [], True
    for n in sizes:
        first = None
        for threads in args.threads:
            row = run_one(n, args.days, threads, args.config)
            rows.append(row)
            same = first is None or row["sha256"] == first
            identical &= same
            first = first or row["sha256"]
            print(
                f"{n:>10,} users x {args.days} days, {row['threads']} thread(s): "
                f"{row['wall_s']:.1f} s, {row['user_days_per_s'] / 1e6:.1f} M user-days/s, "
                f"peak {row['peak_rss_mb']:,} MB, tables {'identical' if same else 'DIFFER'}",
                flush=True,
            )
    print_tables(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"\nresult tables byte-identical across thread counts: {'yes' if identical else 'NO'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
