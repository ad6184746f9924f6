"""The comparison table in the terminal (``siyu compare RUN_DIR``)."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

DEFAULT_METRICS = (
    "net_value_per_user", "revenue_per_user", "cost_per_user", "discounted_net_value_per_user",
    "churned_share", "retention_d7", "retention_d30", "retention_d90", "paying_share", "rmst",
    "world_groups_alive_end", "world_referred_arrivals",
)  # fmt: skip
_SHARES = ("_share", "retention_d")


def _fmt(metric: str, x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if any(s in metric for s in _SHARES):
        return f"{100 * x:.2f}%"
    return f"{x:,.2f}"


def _pp(metric: str, x: float) -> str:
    """Differences of shares in percentage points."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if any(s in metric for s in _SHARES):
        return f"{100 * x:+.2f} pp"
    return f"{x:+,.2f}"


def comparison_rich(
    comparison: pd.DataFrame, economics: pd.DataFrame | None = None, metrics=None, cell=None
) -> list[Table]:
    """One table per cell (the first cells only when there are many; pass ``cell``)."""
    wanted = list(metrics or DEFAULT_METRICS)
    cells = [cell] if cell else list(dict.fromkeys(comparison["cell"]))
    tables = []
    for c in cells[:6]:
        part = comparison[(comparison["cell"] == c) & comparison["metric"].isin(wanted)]
        part = part.assign(order=part["metric"].map({m: i for i, m in enumerate(wanted)}))
        reps = int(part["n_replications"].max()) if len(part) else 0
        method = part["method"].iloc[0] if len(part) else ""
        t = Table(title=f"cell {c}: arm vs control ({reps} replication(s), {method})")
        for name in ("arm", "metric", "control", "arm", "difference [95% CI]", "p adj.", "MDE"):
            t.add_column(name, justify="left" if name == "metric" else "right")
        for _, r in part.sort_values(["arm", "order"], kind="stable").iterrows():
            low, high = _pp(r.metric, r.ci_low), _pp(r.metric, r.ci_high)
            ci = f"{_pp(r.metric, r.difference)} [{low}, {high}]"
            p = "–" if math.isnan(r.p_adjusted) else f"{r.p_adjusted:.3g}"
            style = "bold green" if r.significant and r.difference > 0 else (
                "bold red" if r.significant else "")  # fmt: skip
            t.add_row(r.label, r.metric, _fmt(r.metric, r.control_mean), _fmt(r.metric, r.arm_mean),
                      ci, p, _fmt(r.metric, abs(r.mde)) if
                      not math.isnan(r.mde) else "–", style=style)  # fmt: skip
        tables.append(t)
        if economics is not None and len(economics):
            e = economics[economics["cell"] == c]
            et = Table(title=f"cell {c}: economics per user of the analysis set (¥)")
            for name in ("arm", "Δ revenue", "Δ cost", "Δ net value", "ROI"):
                et.add_column(name, justify="left" if name == "arm" else "right")
            for _, r in e.iterrows():
                roi = "–" if math.isnan(r.roi) else f"{r.roi:.2f}"
                et.add_row(r.label, f"{r.incremental_revenue_per_user:+,.2f}",
                           f"{r.incremental_cost_per_user:+,.2f}",
                           f"{r.incremental_net_per_user:+,.2f}", roi)  # fmt: skip
            tables.append(et)
    return tables


def print_comparison(tables: dict[str, pd.DataFrame], console: Console, metrics=None, cell=None):
    comparison = tables.get("comparison")
    if comparison is None or comparison.empty:
        console.print("no comparison available")
        return
    for t in comparison_rich(comparison, tables.get("economics"), metrics, cell):
        console.print(t)
    n_cells = comparison["cell"].nunique()
    if n_cells > 6 and cell is None:
        console.print(f"({n_cells} cells; showing 6 — use --cell to pick one)")
    console.print(
        "difference = arm − control on the same users (intention to treat); interval and p from "
        "paired replications; p adjusted across arms × metrics; MDE at the configured power."
    )
