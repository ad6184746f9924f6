"""The policies the "under every strategy" laws (2, 3, 4, 8) run: every built-in strategy at its
defaults and at each end of its operating range, one parameter at a time.

:data:`OPERATING_RANGES` is the one place the ranges come from: for each strategy the parameter
that sets how often or how much it contacts users, with the range an operator would plausibly
use. It is narrower than what the strategy's parameter declaration accepts (the validity limits,
e.g. ``blanket.promos_per_day`` admits 50 a day); a test checks that every end lies inside the
declared range, so a range cannot name a value the strategy would refuse.
"""

from __future__ import annotations

import functools
from typing import Any

from sim.laws.plan import Run, call, run_of, strategy_defaults
from strategies.registry import BUILTIN

OPERATING_RANGES: dict[str, dict[str, tuple[Any, Any]]] = {
    "blanket": {"promos_per_day": (0.25, 8.0), "content_per_day": (0.0, 3.0)},
    "tiered_content": {"every_days": (1, 14)},
    "content_calendar": {"promo_count": (1, 8)},
    "churn_warning": {"silent_days": (3, 30)},
    "gamification": {"streak_gift": (0.0, 30.0)},
    "group_pruning": {"every_days": (1, 30)},
    "koc_programme": {"every_days": (1, 30)},
    "new_user_followup": {"followup_delay_days": (0, 14)},
    "progress_nudge": {"report_every_days": (1, 30)},
    "recall_coupon": {"trigger_silence_days": (3, 30)},
    "referral_rewards": {"gift": (1.0, 100.0)},
    "value_paving": {"paving_days": (0, 30)},
    "vip_club": {"content_every_days": (1, 30)},
}
"""Operating (lowest, highest) values per strategy and parameter; see the module docstring."""


def parameter_ranges(name: str) -> dict[str, tuple[Any, Any]]:
    """The (lowest, highest) value of each swept parameter of built-in strategy ``name``."""
    return OPERATING_RANGES.get(name, {})


@functools.cache
def strategy_sweep(quick: bool = False) -> tuple[Run, ...]:
    """Each built-in strategy alone: at its defaults, then each range end (others default);
    with ``quick``, at its defaults only."""
    runs: list[Run] = []
    for name in BUILTIN:
        runs.append(run_of(call(name)))
        ranges = {} if quick else parameter_ranges(name)
        for param, ends in ranges.items():
            if param not in strategy_defaults(name):
                raise KeyError(f"strategy {name!r} has no parameter {param!r}")
            runs.extend(run_of(call(name, **{param: end})) for end in ends)
    return tuple(dict.fromkeys(runs))


def defaults_of_each_strategy(skip: tuple[str, ...] = ()) -> list[Run]:
    """Each built-in strategy alone at its defaults, except those in ``skip``."""
    return [run_of(call(name)) for name in BUILTIN if name not in skip]
