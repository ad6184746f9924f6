"""The behaviour step alone: CPU time per user-day on captured days of a quickstart world.

Runs experiments/quickstart.yaml (one thread) and keeps a copy of the compiled step's
arguments on a few days; then steps each kept day again several times, each time on a fresh
copy, timing only ``step_users`` with the thread's CPU clock (steadier than wall time on a
shared machine). Prints the median per day, its nanoseconds per user slot, and a digest of
every array the step wrote: two versions of the step that give the same digest computed the
same results on these days (run it with ``PYTHONPATH`` pointing at each checkout). The copies'
columns lie wherever the allocator puts them, not where the population places its own
(:func:`sim.world.population.staggered_full`), so cache effects of their placement do not
show here: time whole runs for those.

    python benchmarks/bench_step.py                          # 200k users, days 30/150/300/364
    python benchmarks/bench_step.py --users 50000 --reps 9
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KEPT_BUFFERS = ("counters", "sizes", "dead_blocks")  # step buffers that carry state into a step


def capture(users: int, days: list[int]) -> dict[int, tuple]:
    """The step's arguments (threads left out) on ``days`` of a one-thread quickstart run."""
    import sim.engine.simulation as simulation
    from sim.config import load_config
    from sim.engine.policy import build_strategies

    kept: dict[int, tuple] = {}
    step = simulation.step_users

    def keep(day, *args):
        if day in days:
            kept[day] = copy.deepcopy((day, *args[:-1]))
            buffers = kept[day][-2]
            for name in buffers._fields:  # scratch space the step writes before it reads:
                if name not in KEPT_BUFFERS:  # zeroed, so the digest sees only results
                    getattr(buffers, name)[:] = 0
        return step(day, *args)

    simulation.step_users = keep
    try:
        config = load_config(ROOT / "experiments/quickstart.yaml", users=users, days=max(days) + 1)
        simulation.Simulation(config, build_strategies(config)).run()
    finally:
        simulation.step_users = step
    return kept


def digest(args: tuple, h: hashlib._Hash) -> None:
    for x in args:
        if isinstance(x, np.ndarray):
            h.update(x.tobytes())
        elif isinstance(x, tuple):
            digest(x, h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 150, 300, 364])
    parser.add_argument("--reps", type=int, default=5)
    opts = parser.parse_args()
    os.environ["SIYU_THREADS"] = "1"
    from sim.world.behaviour import step_users

    kept = capture(opts.users, opts.days)
    step_users(*copy.deepcopy(kept[opts.days[0]]), 1)  # warm: load the compiled step
    h = hashlib.sha256()
    total = 0.0
    for day in opts.days:
        times = []
        for _ in range(opts.reps):
            args = copy.deepcopy(kept[day])
            t0 = time.thread_time()
            step_users(*args, 1)
            times.append(time.thread_time() - t0)
        digest(args, h)
        med = sorted(times)[len(times) // 2]
        total += med
        print(f"day {day}: {med * 1e3:.1f} ms, {med / args[1] * 1e9:.1f} ns per user slot")
    print(f"total {total * 1e3:.1f} ms (medians), load average {os.getloadavg()[0]:.2f}")
    print(f"digest {h.hexdigest()[:16]}")


if __name__ == "__main__":
    sys.exit(main())
