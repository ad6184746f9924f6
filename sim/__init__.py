"""siyu: an agent-based simulator of private-domain (私域) operations for paid-knowledge brands.

The front door (:mod:`sim.api`): ``sim.run``, ``sim.run_experiment``, ``sim.load_run``,
``sim.load_experiment`` and their results ``sim.RunResult``, ``sim.ExperimentResult``.

They are loaded on first use (PEP 562 ``__getattr__``), not here: every ``import sim.<module>``
runs this file first, and importing the front door eagerly would pull the whole stack (engine,
numba kernels, analysis, plotting) into, say, ``import sim.rng``. This is about import cost only;
:mod:`sim.api` imports nothing from this file, so there is no cycle to avoid.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import (
        ExperimentResult,
        RunResult,
        load_experiment,
        load_run,
        run,
        run_experiment,
    )

__version__ = "0.1.0"

__all__ = [
    "ExperimentResult",
    "RunResult",
    "__version__",
    "load_experiment",
    "load_run",
    "run",
    "run_experiment",
]

_FRONT_DOOR = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _FRONT_DOOR:
        return getattr(importlib.import_module("sim.api"), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FRONT_DOOR)
