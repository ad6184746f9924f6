"""End-of-run summary: the few figures a strategist reads first, as a dict and as a rich table.

:func:`summary_dict` computes them from the run tables (``daily`` and ``users``) and the
manifest; :func:`summary_table` formats the same figures; :func:`print_summary` prints them.
Money is in ¥; "net value" is revenue minus money cost (operator hours are reported apart).
Retention of arrivals at k days is the share of arrivals (``join_day >= 0``) observed for at
least k days after joining who had not churned k days after joining; None if nobody qualifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.world.lifecycle import STAGES

ARRIVAL_RETENTION_DAYS = (30, 90)
"""Days after joining at which the summary reports the retention of arrivals."""


def is_arrival(join_day: np.ndarray) -> np.ndarray:
    """True for users who arrived during the run (``join_day >= 0``); the base joined before."""
    return np.asarray(join_day) >= 0


def horizon_of(daily: pd.DataFrame | None) -> int:
    """Number of simulated days (``daily.day.max() + 1``), 0 for an empty run."""
    if daily is None or len(daily) == 0:
        return 0
    return int(daily["day"].max()) + 1


def arrival_retention(users: pd.DataFrame | None, horizon: int, k: int) -> tuple[float | None, int]:
    """(share of observable arrivals not churned k days after joining, number observable)."""
    if users is None or len(users) == 0:
        return None, 0
    join = users["join_day"].to_numpy(np.int64)
    churn = users["churn_day"].to_numpy(np.int64)
    observable = is_arrival(join) & (join + k <= horizon - 1)
    n = int(observable.sum())
    if n == 0:
        return None, 0
    retained = (churn[observable] < 0) | (churn[observable] > join[observable] + k)
    return float(retained.mean()), n


def _sum(daily: pd.DataFrame, column: str) -> float:
    return float(daily[column].sum()) if len(daily) else 0.0


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _stage_figures(last: pd.Series | None, users_end: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in STAGES:
        count = int(last[f"stage_{stage}"]) if last is not None else 0
        out[f"stage_{stage}"] = count
        out[f"share_{stage}"] = _share(count, users_end)
    return out


def _group_figures(daily: pd.DataFrame, last: pd.Series | None) -> dict[str, Any]:
    with_groups = daily[daily["groups_alive"] > 0] if len(daily) else daily
    speaking = with_groups["group_speaking_rate"].mean() if len(with_groups) else np.nan
    opened = with_groups["group_open_rate"].mean() if len(with_groups) else np.nan
    return {
        "groups_alive_end": int(last["groups_alive"]) if last is not None else 0,
        "speaking_rate_mean": None if pd.isna(speaking) else float(speaking),
        "open_rate_mean": None if pd.isna(opened) else float(opened),
    }


def summary_dict(
    tables: Mapping[str, pd.DataFrame], manifest: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The end-of-run figures as a flat dict of plain Python numbers (None = not observable).

    ``speaking_rate_mean``/``open_rate_mean`` are unweighted means over days with a group alive.
    """
    daily = tables.get("daily")
    daily = pd.DataFrame() if daily is None else daily.sort_values("day")
    users = tables.get("users")
    first = daily.iloc[0] if len(daily) else None
    last = daily.iloc[-1] if len(daily) else None
    users_end = int(last["users_registered"]) if last is not None else 0
    revenue, cost = _sum(daily, "revenue"), _sum(daily, "cost_money")
    horizon = horizon_of(daily)
    out: dict[str, Any] = {
        "days": horizon,
        "users_start": int(first["users_registered"] - first["arrivals"])
        if first is not None
        else 0,
        "users_end": users_end,
        "arrivals": int(_sum(daily, "arrivals")),
        "arrivals_referred": int(_sum(daily, "arrivals_referred")),
        **_stage_figures(last, users_end),
        "active_last_day": int(last["active"]) if last is not None else 0,
        "purchases": int(_sum(daily, "purchases")),
        "revenue": revenue,
        "discount": _sum(daily, "discount"),
        "cost_money": cost,
        "operator_hours": _sum(daily, "operator_hours"),
        "net_value": revenue - cost,
        "revenue_per_user": _share(revenue, users_end),
        "net_value_per_user": _share(revenue - cost, users_end),
    }
    for k in ARRIVAL_RETENTION_DAYS:
        out[f"retention_{k}d"], out[f"retention_{k}d_n"] = arrival_retention(users, horizon, k)
    out.update(_group_figures(daily, last))
    total = ((manifest or {}).get("timings") or {}).get("total_s")
    out["wall_time_s"] = float(total) if total is not None else None
    return out


# --------------------------------------------------------------------------- formatting


def _int(x: int) -> str:
    return f"{x:,}"


def _money(x: float | None) -> str:
    return "—" if x is None else f"¥{x:,.2f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("days simulated", _int(s["days"])),
        (
            "users at start / registered at end",
            f"{_int(s['users_start'])} / {_int(s['users_end'])}",
        ),
        ("arrivals (referred)", f"{_int(s['arrivals'])} ({_int(s['arrivals_referred'])})"),
    ]
    for stage in STAGES:
        count, share = s[f"stage_{stage}"], s[f"share_{stage}"]
        rows.append((f"  {stage} at end", f"{_int(count)} ({_pct(share)})"))
    rows += [
        ("active on the last day", _int(s["active_last_day"])),
        ("purchases", _int(s["purchases"])),
        ("revenue", _money(s["revenue"])),
        ("cost (money)", _money(s["cost_money"])),
        ("net value (revenue − cost)", _money(s["net_value"])),
        ("revenue per registered user", _money(s["revenue_per_user"])),
    ]
    for k in ARRIVAL_RETENTION_DAYS:
        n = s[f"retention_{k}d_n"]
        value = _pct(s[f"retention_{k}d"]) + (f" of {_int(n)}" if n else " (not observable)")
        rows.append((f"{k}-day retention of arrivals", value))
    rows += [
        ("groups alive at end", _int(s["groups_alive_end"])),
        ("mean group speaking rate", _pct(s["speaking_rate_mean"])),
    ]
    if s["wall_time_s"] is not None:
        rows.append(("wall time", f"{s['wall_time_s']:.1f} s"))
    return rows


def summary_table(
    tables: Mapping[str, pd.DataFrame], manifest: Mapping[str, Any] | None = None
) -> Table:
    """The figures of :func:`summary_dict` as a two-column rich table."""
    table = Table(title="Run summary", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in _rows(summary_dict(tables, manifest)):
        table.add_row(name, value)
    return table


def print_summary(
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any] | None = None,
    console: Console | None = None,
) -> None:
    """Print :func:`summary_table` to ``console`` (a new stdout console by default)."""
    (console or Console()).print(summary_table(tables, manifest))
