"""Speed and memory of the world engine: user-days per second and peak memory.

Runs the quickstart world (experiments/quickstart.yaml: default parameters, `blanket` policy)
for 365 days at each requested population size, each size in a fresh subprocess so its peak
resident memory (``ru_maxrss``) is its own. Arrivals keep the quickstart's absolute daily rates.
A small warm-up run first loads numba's compiled code, so compile time is reported apart.

    python benchmarks/bench_world.py                 # 100k and 1M users, 365 days
    python benchmarks/bench_world.py --users 200000 --days 180

Prints one line per size and a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(users: int, days: int, config_path: Path) -> dict:
    """Run one size in this process and return its figures."""
    from sim.config import load_config
    from sim.engine.policy import build_strategies
    from sim.engine.simulation import Simulation

    t0 = time.perf_counter()
    warm = load_config(config_path, users=1000, days=3)
    Simulation(warm, build_strategies(warm)).run()
    compile_s = time.perf_counter() - t0

    config = load_config(config_path, users=users, days=days)
    t1 = time.perf_counter()
    result = Simulation(config, build_strategies(config)).run()
    wall = time.perf_counter() - t1
    daily = result.tables["daily"]
    slot_days = int(daily["users_registered"].sum())
    live_days = int((daily["users_registered"] - daily["stage_churned"]).sum())
    return {
        "users": users,
        "days": days,
        "users_at_end": int(daily["users_registered"].iloc[-1]),
        "wall_s": round(wall, 2),
        "simulate_s": round(result.timings["simulate_s"], 2),
        "setup_s": round(result.timings["setup_s"], 2),
        "tables_s": round(result.timings["tables_s"], 2),
        "warmup_compile_s": round(compile_s, 2),
        "user_days": slot_days,
        "live_user_days": live_days,
        "user_days_per_s": round(slot_days / wall),
        "live_user_days_per_s": round(live_days / wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "quickstart.yaml")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.users[0], args.days, args.config)))
        return 0
    rows = []
    for n in args.users:
        cmd = [sys.executable, __file__, "--one", "--users", str(n), "--days", str(args.days),
               "--config", str(args.config)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=os.environ)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{n:>9,} users x {args.days} days: {row['wall_s']:.1f} s, "
            f"{row['user_days_per_s'] / 1e6:.1f} M user-days/s, peak {row['peak_rss_mb']} MB"
        )
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    header = ("users", "days", "users at end", "wall (s)", "user-days/s", "live user-days/s",
              "peak RSS (MB)")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['users']:,} | {r['days']} | {r['users_at_end']:,} | {r['wall_s']} | "
            f"{r['user_days_per_s'] / 1e6:.1f} M | {r['live_user_days_per_s'] / 1e6:.1f} M | "
            f"{r['peak_rss_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
