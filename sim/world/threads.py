"""How many threads the compiled daily step uses.

``--threads N`` (the CLI) or the ``SIYU_THREADS`` environment variable choose; the default is
every core numba may use (``NUMBA_NUM_THREADS``, normally the CPU count). The results do not
depend on the choice (sim/world/behaviour.py reduces every aggregate in a fixed order); only the
wall time does. Worker processes of a pool (experiments, laws, A/A tests) step on one thread
each: the pool already uses the cores, and GNU OpenMP, numba's threading layer on Linux, may
not be used again in a process forked from one that used it.
"""

from __future__ import annotations

import os

import numba

from sim.errors import ConfigError

ENV = "SIYU_THREADS"

# Between two days' steps the threads wait for the next one; GNU OpenMP lets them spin first,
# which takes a core from the single-threaded parts of the day (actions, groups) on a small
# machine. Passive waiting costs a few microseconds per step. Set before numba loads OpenMP
# (at the first parallel step); a value already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_threads() -> int:
    """The most threads the step can use in this process."""
    return int(numba.config.NUMBA_NUM_THREADS)


def resolve_threads(requested: int | None = None) -> int:
    """``requested``, else ``SIYU_THREADS``, else every core; at most :func:`available_threads`."""
    most = available_threads()
    if requested is None:
        text = os.environ.get(ENV, "").strip()
        if not text:
            return most
        try:
            requested = int(text)
        except ValueError:
            requested = 0
        if requested < 1:
            raise ConfigError(f"{ENV}={text!r}: expected a whole number of threads, 1 or more")
    if requested < 1:
        raise ConfigError(f"threads={requested}: expected a whole number of threads, 1 or more")
    return min(requested, most)


def one_thread_per_worker() -> None:
    """Initialiser of a pool's worker process: its runs step on one thread."""
    os.environ[ENV] = "1"
