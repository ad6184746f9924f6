"""The comparison table in the terminal (``siyu compare RUN_DIR``)."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.analysis.metrics import format_plain, verdict

DEFAULT_METRICS = (
    "net_value_per_user", "revenue_per_user", "cost_per_user", "discounted_net_value_per_user",
    "churned_share", "retention_d7", "retention_d30", "retention_d90", "paying_share", "rmst",
    "world_groups_alive_end", "world_referred_arrivals",
)  # fmt: skip
"""The metrics ``siyu compare`` shows unless asked for others (see :mod:`sim.analysis.metrics`)."""
_STYLES = {1: "bold green", -1: "bold red", 0: ""}  # a significant effect: better, worse, neutral


def _row(r) -> tuple[list[str], str]:
    """The cells and the style of one comparison row."""
    low, high = (format_plain(r.metric, x, difference=True) for x in (r.ci_low, r.ci_high))
    ci = f"{format_plain(r.metric, r.difference, difference=True)} [{low}, {high}]"
    p = "–" if math.isnan(r.p_adjusted) else f"{r.p_adjusted:.3g}"
    mde = "–" if math.isnan(r.mde) else format_plain(r.metric, abs(r.mde))
    cells = [r.label, r.metric, format_plain(r.metric, r.control_mean),
             format_plain(r.metric, r.arm_mean), ci, p, mde]  # fmt: skip
    return cells, _STYLES[verdict(r.metric, r.difference)] if r.significant else ""


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
            cells, style = _row(r)
            t.add_row(*cells, style=style)
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
