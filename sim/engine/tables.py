"""Turning a finished simulation into the result tables (pandas, written as Parquet).

* ``daily`` — one row per day: stage counts, activity, money, actions, group health;
* ``users`` — one row per user ever registered: attributes, final stage and segments,
  purchases, revenue, costs, join/churn days and the survival duration;
* ``transitions`` — every stage change: user, day, from, to;
* ``purchases`` — every purchase: user, day, product, price paid, discount;
* ``groups`` — one row per living group per day;
* ``lapses`` — every lapse (a reachable user falls silent) and recall (a lapsed user is active
  again): user, day, event;
* ``costs`` — every action booked: day, strategy, action, users, units, money, operator hours;
* ``pressure`` — (when a ``pressure:`` limit is set) per day and strategy: messages dropped by
  caps, 1v1 contacts postponed and dropped;
* extra tables a strategy returns from ``result_tables()``, e.g. ``rules`` (per rule and day:
  selected, suppressed, held out, over budget, capped, acted, postponed).

Categorical columns use fixed category lists, so the same run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from sim.config import ExperimentConfig
from sim.world import lifecycle as lc
from sim.world.actions import Ledger, WorldState
from sim.world.behaviour import LAPSE_EVENTS
from sim.world.params import PREFERENCES
from sim.world.population_spec import CHANNELS, OCCUPATIONS
from sim.world.pressure import PRESSURE_COLUMNS
from strategies.base import Strategy


class FinishedRun(WorldState, Protocol):
    """A simulation after its last day: the world plus what the engine recorded each day
    (:class:`~sim.engine.simulation.Simulation` is one)."""

    config: ExperimentConfig
    strategies: Sequence[Strategy]
    treatment: Sequence[Strategy] | None
    records: dict[str, list]


def _cat(codes: np.ndarray, categories: tuple[str, ...] | list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(categories))


def _int_day(values: np.ndarray) -> np.ndarray:
    """Day columns with 'never' as -1; days before 0 are history, not reported."""
    return np.where(values == lc.NO_DAY, -1, values).astype(np.int32)


def users_table(sim: FinishedRun) -> pd.DataFrame:
    pop, days, p = sim.pop, sim.config.days, sim.world.lifecycle
    col = pop.col
    last_day = days - 1
    silence = lc.days_since(col("last_active"), last_day)
    churn_day = col("churn_day")
    churned = churn_day >= 0
    start = np.maximum(col("join_day"), 0)
    duration = np.where(churned, churn_day - start, days - start).astype(np.int32)
    first_purchase = col("first_purchase")
    last_purchase = col("last_purchase")
    value_to_date = col("revenue") + col("prior_revenue")
    products = [prod.name for prod in sim.world.products]
    return pd.DataFrame(
        {
            "user_id": col("uid").astype(np.int64),
            "join_day": col("join_day"),
            "channel": _cat(col("channel"), CHANNELS),
            "referrer_id": col("referrer"),
            "age": col("age"),
            "occupation": _cat(col("occupation"), OCCUPATIONS),
            "city_tier": col("city_tier"),
            "income": col("income"),
            "price_sensitivity": col("price_sensitivity"),
            "preference": _cat(col("preference"), PREFERENCES),
            "engagement": col("engagement"),
            "assigned": col("assigned"),
            "arrival_group": col("arrival_group"),
            "disruptive": col("disruptive"),
            "initial_stage": _cat(col("initial_stage"), lc.STAGES),
            "initial_quadrant": _cat(col("initial_quadrant"), lc.QUADRANTS),
            "final_stage": _cat(col("stage"), lc.STAGES),
            "quadrant": _cat(lc.quadrant(value_to_date, col("active_bits"), p), lc.QUADRANTS),
            "group_activity": _cat(
                lc.group_activity(col("group"), col("speak_bits"), col("last_claim"), last_day, p),
                lc.GROUP_ACTIVITY,
            ),
            "churn_depth": _cat(lc.churn_depth(silence, p), lc.CHURN_DEPTHS),
            "purchases": (col("purchases") - col("prior_purchases")).astype(np.int32),
            "prior_purchases": col("prior_purchases"),
            "ladder_level": col("ladder"),
            "highest_product": pd.Categorical.from_codes(
                col("ladder").astype(np.int64) - 1, categories=products
            ),
            "revenue": col("revenue"),
            "discount": col("discount"),
            "cost_money": col("cost"),
            "operator_hours": col("operator_hours").astype(np.float64),
            "net_value": col("revenue") - col("cost"),
            "first_purchase_day": _int_day(
                np.where(first_purchase >= 0, first_purchase, lc.NO_DAY)
            ),
            "last_purchase_day": _int_day(np.where(last_purchase >= 0, last_purchase, lc.NO_DAY)),
            "churn_day": churn_day,
            "churned": churned,
            "lapsed": col("lapsed") & ~churned,
            "lapse_day": col("lapse_day"),
            "duration": duration,
            "group_id": col("group"),
            "muted": col("muted"),
            "trust": col("trust"),
            "fatigue": col("fatigue"),
            "completed_courses": col("completed"),
            "points": col("points"),
            "referrals_made": col("referrals"),
            "reached_days": col("reached_days"),
            "open_days": col("open_days"),
            "offer_open_days": col("offer_open_days"),
        },
        copy=False,  # the columns are used as they are, not copied into 2-D blocks
    )


def transitions_table(chunks: list) -> pd.DataFrame:
    if chunks:
        day = np.concatenate([np.full(len(c[1]), c[0], np.int32) for c in chunks])
        user = np.concatenate([c[1] for c in chunks]).astype(np.int64)
        src = np.concatenate([c[2] for c in chunks])
        dst = np.concatenate([c[3] for c in chunks])
    else:
        day, user = np.zeros(0, np.int32), np.zeros(0, np.int64)
        src = dst = np.zeros(0, np.int8)
    return pd.DataFrame(
        {"user_id": user, "day": day, "from_stage": _cat(src, lc.STAGES),
         "to_stage": _cat(dst, lc.STAGES)},
        copy=False,
    )  # fmt: skip


def purchases_table(chunks: list, products: list[str]) -> pd.DataFrame:
    if chunks:
        day = np.concatenate([np.full(len(c[1]), c[0], np.int32) for c in chunks])
        user = np.concatenate([c[1] for c in chunks]).astype(np.int64)
        step = np.concatenate([c[2] for c in chunks])
        paid = np.concatenate([c[3] for c in chunks])
        disc = np.concatenate([c[4] for c in chunks])
    else:
        day, user, step = np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int8)
        paid = disc = np.zeros(0, np.float64)
    return pd.DataFrame(
        {"user_id": user, "day": day, "product": _cat(step, products), "price_paid": paid,
         "discount": disc},
        copy=False,
    )  # fmt: skip


def lapses_table(chunks: list) -> pd.DataFrame:
    """Every lapse and recall: user_id, day, event ("lapse" | "recall")."""
    if chunks:
        day = np.concatenate([np.full(len(c[1]), c[0], np.int32) for c in chunks])
        user = np.concatenate([c[1] for c in chunks]).astype(np.int64)
        event = np.concatenate([c[2] for c in chunks])
    else:
        day, user, event = np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int8)
    return pd.DataFrame(
        {"user_id": user, "day": day, "event": _cat(event, LAPSE_EVENTS).astype("string")},
        copy=False,
    )


def groups_table(chunks: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame(
            {k: pd.Series(dtype=t) for k, t in (
                ("day", np.int32), ("group_id", np.int32), ("size", np.int32),
                ("speakers", np.int32), ("speaking_rate", np.float32), ("pushed", np.int32),
                ("opened", np.int32), ("open_rate", np.float32), ("joins", np.int32),
                ("leaves", np.int32), ("alive", np.bool_))}
        )  # fmt: skip
    return pd.DataFrame({k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}, copy=False)


def costs_table(ledger: Ledger) -> pd.DataFrame:
    df = pd.DataFrame(ledger.rows, columns=list(Ledger.COLUMNS))
    return df.astype(
        {"day": np.int32, "strategy": "string", "action": "string", "users": np.int64,
         "units": np.int64, "cost_money": np.float64, "operator_hours": np.float64}
    )  # fmt: skip


def user_costs_table(ledger: Ledger, uids: np.ndarray) -> pd.DataFrame:
    """What each strategy spent on each user (only users it spent on), for net value by
    strategy: user_id, strategy, cost_money, operator_hours."""
    parts = []
    for strategy in sorted(ledger.per_user):
        money, hours = ledger.per_user[strategy]
        money, hours = money[: uids.shape[0]], hours[: uids.shape[0]]
        spent = np.flatnonzero((money > 0) | (hours > 0))
        name = np.empty(spent.shape[0], dtype=object)
        name.fill(strategy)  # one str object shared by every row (np.full makes one per row)
        name = pd.array(name, dtype="string")
        columns = {"user_id": uids[spent].astype(np.int64), "strategy": name,
                   "cost_money": money[spent], "operator_hours": hours[spent]}  # fmt: skip
        parts.append(pd.DataFrame(columns, copy=False))
    if not parts:
        empty = {"user_id": np.zeros(0, np.int64), "strategy": [], "cost_money": np.zeros(0),
                 "operator_hours": np.zeros(0)}  # fmt: skip
        return pd.DataFrame(empty).astype({"strategy": "string"})
    # one strategy (the usual case) is its own table: no concatenated copy of a million rows
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def daily_table(rows: list[dict[str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    counts = [c for c in df.columns if c.startswith("stage_")] + [
        "users_registered", "arrivals", "arrivals_referred", "active", "opened", "spoke",
        "shared", "purchases", "mutes", "churned_today", "completions", "referrals",
        "content_reached", "content_opened", "lapses", "recalls", "lapsed", "reachable",
    ]  # fmt: skip
    df[counts] = df[counts].astype(np.int64)
    df["day"] = df["day"].astype(np.int32)
    return df


def _take(records: dict[str, list], name: str) -> list:
    """One kind of daily record, handed over to its table: the simulation keeps an empty list,
    so the events are not held twice while the other tables are built."""
    taken, records[name] = records[name], []
    return taken


def build_tables(sim: FinishedRun) -> dict[str, pd.DataFrame]:
    """The run's tables (name -> frame, in the order listed in the module docstring).

    Consumes the simulation's daily records (they are in the tables afterwards); the users
    table shares the population's columns. The event tables are built first and the two
    per-user tables last, so the records are gone when the largest tables are made."""
    rec = sim.records
    products = [p.name for p in sim.world.products]
    out = sim.config.output
    transitions = transitions_table(_take(rec, "transitions"))
    lapses = lapses_table(_take(rec, "lapses"))
    purchases = purchases_table(_take(rec, "purchases"), products) if out.purchases else None
    groups = groups_table(_take(rec, "groups")) if out.groups else None
    tables = {
        "daily": daily_table(_take(rec, "daily")),
        "users": users_table(sim),
        "transitions": transitions,
        "lapses": lapses,
        "costs": costs_table(sim.ledger),
        "user_costs": user_costs_table(sim.ledger, sim.pop.col("uid")),
    }
    if purchases is not None:
        tables["purchases"] = purchases
    if groups is not None:
        tables["groups"] = groups
    if sim.pressure.active:
        tables["pressure"] = pressure_table(sim.pressure.rows)
    for strategy in sim.strategies:
        extra = getattr(strategy, "result_tables", None)
        if extra is not None:
            tables.update(extra())
    for strategy in sim.treatment or ():
        extra = getattr(strategy, "result_tables", None)
        if extra is not None:
            tables.update({f"treatment_{name}": t for name, t in extra().items()})
    return tables


def pressure_table(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["day", "strategy", *PRESSURE_COLUMNS])
    return df.astype(
        {"day": np.int32, "strategy": "string", **dict.fromkeys(PRESSURE_COLUMNS, np.int64)}
    )
