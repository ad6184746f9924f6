"""Command start-up: wall and CPU time of ``siyu --help`` and ``siyu validate CONFIG``.

    python benchmarks/bench_startup.py                    # this checkout, best of 5
    python benchmarks/bench_startup.py --root /other/checkout --runs 9

Each command runs in a fresh interpreter (``python -m sim.cli.main``) with ``--root`` first on
the path and as the working directory, so an installed siyu elsewhere does not answer instead.
The machine may be shared: the best of ``--runs`` is the figure to quote (the least disturbed
run); CPU time (user + system) is less sensitive to other load than wall time. Prints a Markdown
table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (
    ("--help",),
    ("validate", "experiments/quickstart.yaml"),
    ("validate", "experiments/tiered_vs_blanket.yaml"),
)


def timed(root: Path, argv: tuple[str, ...]) -> tuple[float, float]:
    """(wall s, cpu s) of one ``siyu ARGV`` in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(root))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim.cli.main", *argv], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| command | wall, best (median) | CPU, best |")
    print("|---|---|---|")
    for argv in COMMANDS:
        runs = [timed(args.root, argv) for _ in range(args.runs)]
        walls = sorted(w for w, _ in runs)
        cpu = min(c for _, c in runs)
        print(f"| `siyu {' '.join(argv)}` | {walls[0]:.2f} s ({walls[len(walls) // 2]:.2f} s) "
              f"| {cpu:.2f} s |")  # fmt: skip
    print(f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
