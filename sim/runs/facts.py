"""The articles' reported experiments (DOMAIN.md §7), replayed on the default world.

Each stylised fact is measured from a run's tables exactly the way the article reports it, so a
simulated figure can be put next to the reported one:

* [003] A/B test — group A (8 promos a day) loses ~42% of its group members within a month;
  group B (stage-tiered, targeted content) loses fewer and converts better
  (:func:`group_exit_rate`, :func:`monthly_conversion`);
* [003] users silent for two weeks churn at 5× the rate of active users
  (:func:`silent_active_churn_ratio`, with a snapshot taken in-process by
  :func:`run_with_snapshot`, because per-user activity at a past day is not in the tables);
* [001] value paving before the pitch: ~3× conversion (:func:`first_purchase_conversion`);
* [003] 68% of chat groups live less than 90 days (:func:`group_death_share`).

The arms are ordinary run configs in ``experiments/facts/*.yaml`` (same seed, same population);
:func:`replay_facts` runs them in-process at any scale and returns the reported-vs-simulated
table. ``docs/FACTS.md`` explains every measurement and which parameters carry it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.law_measures import silent_active_exit_ratio
from sim.analysis.measures import (
    CHURN_WINDOW_DAYS,
    GROUP_LIFE_DAYS,
    Snapshot,
    first_purchase_conversion,
    group_death_share,
    group_exit_rate,
    group_lifetimes,
    monthly_conversion,
    reachable_by_day,
    silent_active_churn_ratio,
)
from sim.config import ExperimentConfig, apply_overrides, parse_config, read_yaml
from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation

FACTS_DIR = Path(__file__).resolve().parents[2] / "experiments" / "facts"
"""Where the arms' YAML configs live."""

ARMS = ("none", "blanket", "promo8_group_a", "tiered_group_b", "paving", "pitch_now")
"""The arms (YAML file stems) that :func:`replay_facts` runs."""

Tables = Mapping[str, pd.DataFrame]


# -- configs -----------------------------------------------------------------------------------
def fact_config(
    arm: str,
    users: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    world: ExperimentConfig | None = None,
) -> ExperimentConfig:
    """The config of one arm (``experiments/facts/<arm>.yaml``), optionally rescaled.

    With ``users`` given, the daily arrivals are scaled by the same factor as the initial base
    (``users`` / the YAML's ``initial_users``), so a smaller world has the same composition of
    base users and newcomers as the quickstart world. With ``world`` given (a user's edited
    world or a twin), the arm runs on that config's population, world parameters, seed and
    horizon with the arm's strategies (its rules, pressure and churn model are dropped).
    """
    path = FACTS_DIR / f"{arm}.yaml"
    data = read_yaml(path)
    if world is not None:
        arm_config = parse_config(data, str(path))
        data = world.model_dump(mode="json", exclude={"rules", "pressure", "churn_model"})
        data.update(name=arm_config.name, description=arm_config.description)
        data["strategies"] = [s.model_dump(mode="json") for s in arm_config.strategies]
    base = parse_config(data, str(path))
    data = apply_overrides(data, users=users, days=days, seed=seed)
    if users is not None:
        factor = users / base.population.initial_users
        population = dict(data.get("population") or {})
        population["arrivals_per_day"] = {
            k: v * factor for k, v in base.population.arrivals_per_day.items()
        }
        data["population"] = population
    return parse_config(data, str(path))


def run_with_snapshot(
    config: ExperimentConfig, snapshot_day: int
) -> tuple[dict[str, pd.DataFrame], Snapshot]:
    """Run ``config`` and record every user's ``last_active`` at the end of ``snapshot_day``.

    The result tables keep only each user's final state, so a user's silence on a past day cannot
    be reconstructed from them (the ``transitions`` table records stage changes only, and
    dormancy needs 180 days). The snapshot is taken with the engine's ``on_day_done`` hook, which
    runs after the day's behaviour step; it does not change the run.
    """
    if not 0 <= snapshot_day < config.days:
        raise ValueError(f"snapshot_day must be in [0, {config.days - 1}], got {snapshot_day}")
    sim = Simulation(config, build_strategies(config, config.name))
    taken: dict[str, pd.DataFrame] = {}

    def on_day_done(day: int) -> None:
        if day == snapshot_day:
            taken["users"] = pd.DataFrame(
                {
                    "user_id": sim.pop.col("uid").astype(np.int64).copy(),
                    "last_active": sim.pop.col("last_active").astype(np.int64).copy(),
                    "reachable": sim.pop.col("churn_day") < 0,
                }
            )

    sim.on_day_done = on_day_done
    tables = sim.run().tables
    return tables, Snapshot(snapshot_day, taken["users"])


def run_arm(config: ExperimentConfig) -> dict[str, pd.DataFrame]:
    """Run one arm in-process and return its tables."""
    return Simulation(config, build_strategies(config, config.name)).run().tables


# -- the measurements --------------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """The tolerance asserted for a simulated figure: lo ≤ simulated ≤ hi."""

    lo: float
    hi: float
    text: str

    def contains(self, x: float) -> bool:
        return bool(self.lo <= x <= self.hi)


NOT_ASSERTED = Band(-math.inf, math.inf, "not asserted")
"""For figures reported for information only (the model does not reproduce them)."""


BANDS: dict[str, Band] = {
    "promo8_exit": Band(0.30, 0.55, "[0.30, 0.55]"),
    "silent_churn_ratio": Band(2.5, 8.0, "[2.5, 8]"),
    "paving_ratio": Band(1.5, 10.0, "[1.5, 10]"),
    "group_death_none": Band(0.50, 0.85, "[0.50, 0.85]"),
}
"""Bands asserted for the facts (see docs/FACTS.md). The silent/active ratio is measured on
disengagement (a lapse or a deletion within 30 days), the sources' 流失; its band is wider than
the laws' [3.5, 7] because the tests replay it on small worlds."""


def replay_facts(
    users: int = 50_000,
    days: int = 180,
    seed: int = 20261123,
    snapshot_day: int = 30,
    world: ExperimentConfig | None = None,
) -> pd.DataFrame:
    """Run every arm at the given scale in-process and compare with the articles.

    ``users`` initial users (arrivals scaled in proportion, see :func:`fact_config`), ``days``
    simulated days (at least 90, and ≥ ``snapshot_day`` + 31), the same ``seed`` for every arm.
    ``world``: run the arms on this config's world instead of the quickstart's (see
    :func:`fact_config`).
    Returns one row per figure: fact, source, reported, simulated, band (the tolerance asserted,
    as text), within_band. Direction-only facts have ``reported`` NaN or the article's number
    and a band relative to the comparison arm.
    """
    if days < GROUP_LIFE_DAYS or days < snapshot_day + CHURN_WINDOW_DAYS + 1:
        raise ValueError("days must be ≥ 90 and ≥ snapshot_day + 31")

    def cfg(arm: str) -> ExperimentConfig:
        return fact_config(arm, users=users, days=days, seed=seed, world=world)

    none_tables, snap = run_with_snapshot(cfg("none"), snapshot_day)
    runs = {arm: run_arm(cfg(arm)) for arm in ARMS if arm != "none"}
    runs["none"] = none_tables

    exit_a = group_exit_rate(runs["promo8_group_a"])
    exit_b = group_exit_rate(runs["tiered_group_b"])
    conv_a = monthly_conversion(runs["promo8_group_a"])
    conv_b = monthly_conversion(runs["tiered_group_b"])
    churn = silent_active_exit_ratio(runs["none"], snap)
    churn7 = silent_active_exit_ratio(runs["none"], snap, window_days=7)
    pave = first_purchase_conversion(runs["paving"])
    pitch = first_purchase_conversion(runs["pitch_now"])
    death_none = group_death_share(runs["none"])["share"]
    death_blanket = group_death_share(runs["blanket"])["share"]
    paving_ratio = pave / pitch if pitch > 0 else math.inf

    rows = [
        ("group A (8 promos/day): members who left their group within 30 days", "[003]",
         0.42, exit_a, BANDS["promo8_exit"]),
        ("group B (tiered content): members who left within 30 days (< group A)", "[003]",
         math.nan, exit_b, Band(0.0, exit_a, f"< group A ({exit_a:.3f})")),
        ("group B conversion: purchases per reachable user, month 1 (> group A)", "[003]",
         0.29, conv_b, Band(conv_a, math.inf, f"> group A ({conv_a:.4f})")),
        ("silent ≥14 days vs active in last 7 days: 30-day lapse-or-delete ratio (none)",
         "[003]", 5.0, churn["ratio"], BANDS["silent_churn_ratio"]),
        ("same, over the next 7 days only (information)", "[003]",
         5.0, churn7["ratio"], NOT_ASSERTED),
        ("value paving vs immediate pitch: first purchase within 30 days, ratio", "[001]",
         3.0, paving_ratio, BANDS["paving_ratio"]),
        ("groups living < 90 days, share (none)", "[003]",
         0.68, death_none, BANDS["group_death_none"]),
        ("groups living < 90 days, share (blanket, 1 promo/day; ≥ none: ad dumps)", "[003]",
         0.68, death_blanket, Band(death_none, 1.0, f"≥ none ({death_none:.3f})")),
    ]  # fmt: skip
    return pd.DataFrame(
        [
            {
                "fact": fact,
                "source": source,
                "reported": reported,
                "simulated": simulated,
                "band": band.text,
                "within_band": pd.NA if band is NOT_ASSERTED else band.contains(simulated),
            }
            for fact, source, reported, simulated, band in rows
        ]
    ).astype({"within_band": "boolean"})


__all__ = [
    "ARMS",
    "BANDS",
    "Band",
    "NOT_ASSERTED",
    "Snapshot",
    "fact_config",
    "first_purchase_conversion",
    "group_death_share",
    "group_exit_rate",
    "group_lifetimes",
    "monthly_conversion",
    "reachable_by_day",
    "replay_facts",
    "run_arm",
    "run_with_snapshot",
    "silent_active_churn_ratio",
]
