"""The comparison table in the terminal (``siyu compare RUN_DIR``, and after ``siyu run`` of an
experiment).

By default it fits an 80-column terminal: one table per arm (the arm and the control named in
its title), readable metric labels with their unit (¥, %, pp, days), the difference and its
interval in one cell that wraps at its spaces, and the p-value as ``< 0.001``. ``wide=True``
(``--wide``) gives one table of every arm with the MDE column, printed at full width. A row of
"discounted net value" identical to "net value" (a discount rate of 0) is left out and said so.
"""

from __future__ import annotations

import math

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from sim.analysis.metrics import (
    DASH,
    can_affect,
    format_p,
    format_percent,
    format_value,
    metric,
    metric_name,
    verdict,
)

DEFAULT_METRICS = (
    "net_value_per_user", "revenue_per_user", "cost_per_user", "discounted_net_value_per_user",
    "churned_share", "retention_d7", "retention_d30", "retention_d90", "paying_share", "rmst",
    "world_groups_alive_end", "world_referred_arrivals",
)  # fmt: skip
"""The metrics ``siyu compare`` shows unless asked for others (see :mod:`sim.analysis.metrics`)."""
WIDE_WIDTH = 160
"""Characters a ``--wide`` table may use, whatever the terminal's width."""
_STYLES = {1: "bold green", -1: "bold red", 0: ""}  # a significant effect: better, worse, neutral
NOTE = (
    "difference = arm − control on the same users (intention to treat); interval and p from "
    "paired replications; p adjusted across arms × metrics; green/red = significant gain/harm "
    "on a metric the arm can affect."
)


def _label(key: str) -> str:
    """A metric's label with its unit, e.g. ``revenue per user (¥)``."""
    unit = metric(key).unit()
    name = metric_name(key)
    if not unit or f"({unit}" in name:
        return name
    return f"{name[:-1]}, {unit})" if name.endswith(")") else f"{name} ({unit})"


def _style(r) -> str:
    if not (r.significant and can_affect(r.metric, r.control_mean, r.arm_mean)):
        return ""
    return _STYLES[verdict(r.metric, r.difference)]


def _difference(r) -> str:
    """``+¥3.37 [+¥1.15, +¥5.58]`` or ``+3.6 pp [+2.0, +5.2]``: the difference and its
    interval (in the same unit), wrapping at spaces."""
    if not math.isfinite(r.difference):
        return DASH
    low, high = (
        format_value(r.metric, x, difference=True).removesuffix(" pp")
        for x in (r.ci_low, r.ci_high)
    )
    return f"{format_value(r.metric, r.difference, difference=True)} [{low}, {high}]"


def same_as_net_value(part: pd.DataFrame) -> bool:
    """Whether the discounted net value rows repeat the net value rows (discount rate 0)."""
    net = part[part["metric"] == "net_value_per_user"].set_index("arm")["difference"]
    disc = part[part["metric"] == "discounted_net_value_per_user"].set_index("arm")["difference"]
    return len(disc) > 0 and disc.reindex(net.index).equals(net)


def _rows(comparison: pd.DataFrame, c: str, wanted: list[str]) -> tuple[pd.DataFrame, bool]:
    part = comparison[(comparison["cell"] == c) & comparison["metric"].isin(wanted)]
    collapsed = same_as_net_value(part)
    if collapsed:
        part = part[part["metric"] != "discounted_net_value_per_user"]
    order = {m: i for i, m in enumerate(wanted)}
    return part.assign(order=part["metric"].map(order)).sort_values("order", kind="stable"), (
        collapsed
    )


def _title(part: pd.DataFrame, c: str, what: str) -> str:
    reps = int(part["n_replications"].max()) if len(part) else 0
    method = part["method"].iloc[0] if len(part) else ""
    return f"{what} — cell {c}, {reps} replication(s), {method}"


def _arm_table(part: pd.DataFrame, c: str, label: str, control: str) -> Table:
    """One arm against the control, narrow enough for 80 columns."""
    t = Table(title=_title(part, c, f"{label} vs control ({control})"), box=box.SIMPLE_HEAD,
              pad_edge=False)  # fmt: skip
    t.add_column("metric (unit)", ratio=3, overflow="fold")
    t.add_column("control", justify="right", overflow="fold")
    t.add_column("arm", justify="right", overflow="fold")
    t.add_column("difference [95% CI]", justify="right", ratio=2, overflow="fold")
    t.add_column("p adj.", justify="right", no_wrap=True)
    for r in part.itertuples():
        t.add_row(_label(r.metric), format_value(r.metric, r.control_mean),
                  format_value(r.metric, r.arm_mean), _difference(r), format_p(r.p_adjusted),
                  style=_style(r))  # fmt: skip
    return t


def _wide_table(part: pd.DataFrame, c: str, arms: list[str] | None) -> Table:
    """Every arm in one table, with the MDE: for a wide terminal (``--wide``)."""
    t = Table(title=_title(part, c, "arm vs control"))
    for name in ("arm", "metric (unit)", "control", "arm mean", "difference [95% CI]", "p adj.",
                 "MDE"):  # fmt: skip
        t.add_column(name, justify="left" if name.startswith("metric") else "right")
    rank = {arm: i for i, arm in enumerate(_arm_order(part, arms))}
    part = part.assign(rank=part["arm"].map(rank))
    for r in part.sort_values(["rank", "order"], kind="stable").itertuples():
        mde = format_value(r.metric, abs(r.mde), difference=True).removeprefix("+")
        t.add_row(r.label, _label(r.metric), format_value(r.metric, r.control_mean),
                  format_value(r.metric, r.arm_mean), _difference(r), format_p(r.p_adjusted), mde,
                  style=_style(r))  # fmt: skip
    return t


def _economics_table(economics: pd.DataFrame, c: str, arms: list[str] | None) -> Table:
    e = economics[economics["cell"] == c]
    e = e.set_index("arm", drop=False).loc[_arm_order(e, arms)]
    t = Table(title=f"cell {c}: money per user, arm − control", box=box.SIMPLE_HEAD)
    for name in ("arm", "Δ revenue", "Δ cost", "Δ net value", "ROI (%)"):
        t.add_column(name, justify="left" if name == "arm" else "right", overflow="fold")
    for r in e.itertuples():
        t.add_row(r.label, format_value("revenue_per_user", r.incremental_revenue_per_user, True),
                  format_value("cost_per_user", r.incremental_cost_per_user, True),
                  format_value("net_value_per_user", r.incremental_net_per_user, True),
                  format_percent(r.roi))  # fmt: skip
    return t


def _arm_order(part: pd.DataFrame, arms: list[str] | None) -> list[str]:
    present = list(dict.fromkeys(part["arm"]))
    return [a for a in arms if a in present] if arms else present


def comparison_rich(
    comparison: pd.DataFrame,
    economics: pd.DataFrame | None = None,
    metrics=None,
    cell=None,
    wide: bool = False,
    arms: list[str] | None = None,
) -> list[Table | str]:
    """The tables (and notes) to print: per cell (the first six unless ``cell`` is given), one
    table per arm (in the order of ``arms`` when given), or one of every arm when ``wide``,
    then the economics."""
    wanted = list(metrics or DEFAULT_METRICS)
    cells = [cell] if cell else list(dict.fromkeys(comparison["cell"]))
    out: list[Table | str] = []
    for c in cells[:6]:
        part, collapsed = _rows(comparison, c, wanted)
        if wide:
            out.append(_wide_table(part, c, arms))
        else:
            control = comparison["control_label"].iloc[0] if "control_label" in part else "control"
            for arm in _arm_order(part, arms):
                rows = part[part["arm"] == arm]
                out.append(_arm_table(rows, c, rows["label"].iloc[0], control))
        if collapsed:
            out.append("discounted net value = net value (discount rate 0): shown once.")
        if economics is not None and len(economics):
            out.append(_economics_table(economics, c, arms))
    return out


def print_comparison(
    tables: dict[str, pd.DataFrame],
    console: Console,
    metrics=None,
    cell=None,
    wide: bool = False,
    control: str | None = None,
    arms: list[str] | None = None,
) -> None:
    """Print the comparison of an analysed experiment; ``control`` is the control's label,
    ``arms`` the order to show the arms in (the experiment's)."""
    comparison = tables.get("comparison")
    if comparison is None or comparison.empty:
        console.print("no comparison available")
        return
    if control:
        comparison = comparison.assign(control_label=control)
    shown = comparison_rich(comparison, tables.get("economics"), metrics, cell, wide, arms)
    narrow = console.width
    if wide:  # the full table at its own width, whatever the terminal's
        console.width = max(narrow, WIDE_WIDTH)
    try:
        for t in shown:
            console.print(t, crop=not wide)
    finally:
        console.width = narrow
    n_cells = comparison["cell"].nunique()
    if n_cells > 6 and cell is None:
        console.print(f"({n_cells} cells; showing 6 — use --cell to pick one)")
    console.print(NOTE)
