"""Plots of a finished run, one function per PNG, plus :func:`plot_run` that makes them all.

Every ``plot_*`` function takes the frames it needs (the run-table schema of the engine) and an
output path, writes a PNG there and returns the path. Empty or degenerate inputs (no users, no
groups, no purchases, nobody churned) give a plot with a note instead of an error.

Figures are built with the object-oriented API on an Agg canvas (``Figure`` +
``FigureCanvasAgg``), never through ``pyplot``: nothing is shown, no global backend is switched
(importing this module inside a notebook leaves its backend alone) and no figure is kept in
pyplot's registry, so memory is freed when the function returns.

Cohorts: the *initial base* is every user with ``join_day < 0`` (observed from day 0);
*arrivals* are users with ``join_day >= 0``, grouped into 30-day cohorts by ``join_day // 30``
(see :func:`sim.analysis.summary.is_arrival`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.curves import (
    KM_MAX_USERS,
    arrival_purchases,
    km_sample,
    mean_cumulative_revenue,
    observed_durations,
    ratio,
    share_retained_curve,
)
from sim.analysis.summary import horizon_of, is_arrival
from sim.analysis.survival import km_curve
from sim.io.figures import new_figure, save_figure
from sim.world.lifecycle import STAGES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COHORT_DAYS = 30
STAGE_COLOURS = {
    "potential": "#9ecae1",
    "new": "#74c476",
    "core": "#238b45",
    "dormant": "#fdae6b",
    "churned": "#969696",
}
MAX_LEGEND_COHORTS = 12  # with more cohorts, only every k-th one is named in the legend
PLOT_FILES = ("stage_flow.png", "retention.png", "ltv.png", "survival.png", "group_health.png")


# --------------------------------------------------------------------------- helpers


def _note(ax: Axes, text: str) -> None:
    """A grey note in the middle of the axes (drawn over whatever is there)."""
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="0.45"
    )


def _no_data(ax: Axes, text: str = "no data") -> None:
    """Mark an axes that has nothing to show: a note and no ticks."""
    _note(ax, text)
    ax.set_xticks([])
    ax.set_yticks([])


def _empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or len(frame) == 0


def _comma_labels(ax: Axes) -> None:
    """Y tick labels as whole numbers with thousands separators."""
    from matplotlib.ticker import StrMethodFormatter  # lazy: see _thousands

    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _thousands(ax: Axes) -> None:
    """Integer y ticks with thousands separators (for counts)."""
    # lazy: matplotlib (~25 MB) is loaded when a plot is drawn, after the run's tables are
    # written (sim.io.figures), not when a run starts
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _comma_labels(ax)


def _days(daily: pd.DataFrame) -> np.ndarray:
    return daily["day"].to_numpy(np.int64)


def _marker(x: np.ndarray) -> str | None:
    """A point marker for a one-point series (a line through one point would be invisible)."""
    return "o" if len(x) == 1 else None


def _cohort_label(join_days: np.ndarray) -> str:
    """'joined days a–b (n=...)' from the cohort's actual first and last join day."""
    lo, hi = int(join_days.min()), int(join_days.max())
    span = f"day {lo}" if lo == hi else f"days {lo}–{hi}"
    return f"joined {span} (n={len(join_days):,})"


def _legend_label(index: int, n_cohorts: int, label: str) -> str | None:
    """The label, or None to leave the cohort out of a legend that would get too long."""
    step = math.ceil(n_cohorts / MAX_LEGEND_COHORTS)
    return label if index % step == 0 or index == n_cohorts - 1 else None


def _outside_legend(ax: Axes) -> None:
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _arrival_months(join_day: np.ndarray) -> np.ndarray:
    return join_day // COHORT_DAYS


def _cohort_colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(n, 1))]


# --------------------------------------------------------------------------- stage flow


def plot_stage_flow(daily: pd.DataFrame, path: Path | str) -> Path:
    """Stacked area of end-of-day user counts in the five lifecycle stages."""
    fig, (ax,) = new_figure()
    if _empty(daily):
        _no_data(ax)
    else:
        days = _days(daily)
        counts = [daily[f"stage_{s}"].to_numpy(float) for s in STAGES]
        colours = [STAGE_COLOURS[s] for s in STAGES]
        if len(days) == 1:  # an area over one day has no width: stack bars instead
            bottoms = np.cumsum([0.0] + [c[0] for c in counts[:-1]])
            for stage, c, bottom, colour in zip(STAGES, counts, bottoms, colours, strict=True):
                ax.bar(days, c, bottom=bottom, color=colour, label=stage, width=0.6)
        else:
            ax.stackplot(days, counts, labels=STAGES, colors=colours, alpha=0.95)
            ax.set_xlim(days.min(), days.max())
        ax.legend(title="stage", loc="upper left", reverse=True, fontsize=9)
        _thousands(ax)
    ax.set_title("Users by lifecycle stage (end of day)")
    ax.set_xlabel("day of simulation (days)")
    ax.set_ylabel("users")
    return save_figure(fig, path)


# --------------------------------------------------------------------------- retention


def plot_retention(users: pd.DataFrame, daily: pd.DataFrame, path: Path | str) -> Path:
    """Cohort retention: the initial base and 30-day arrival cohorts, share not churned by day k."""
    fig, (ax,) = new_figure(figsize=(11.0, 5.5))
    horizon = horizon_of(daily)
    if _empty(users) or horizon == 0:
        _no_data(ax)
    else:
        start, duration = observed_durations(users, horizon)
        join = users["join_day"].to_numpy(np.int64)
        base = ~is_arrival(join)
        if base.any():
            k, share = share_retained_curve(start[base], duration[base], horizon)
            ax.plot(
                k,
                share,
                color="black",
                lw=2.2,
                label=f"initial base (n={base.sum():,})",
                marker=_marker(k),
            )
        months = _arrival_months(join[~base])
        cohorts = np.unique(months)
        colours = _cohort_colours(len(cohorts))
        for i, month in enumerate(cohorts):
            members = np.flatnonzero(~base)[months == month]
            k, share = share_retained_curve(start[members], duration[members], horizon)
            label = _legend_label(i, len(cohorts), _cohort_label(join[members]))
            ax.plot(k, share, color=colours[i], lw=1.4, label=label, marker=_marker(k))
        ax.set_ylim(0, 1.02)
        _outside_legend(ax)
    ax.set_title("Cohort retention: share not churned k days after joining")
    ax.set_xlabel("days since joining (initial base: since day 0)")
    ax.set_ylabel("share of cohort not churned")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- lifetime value


def _ltv_calendar_panel(ax: Axes, daily: pd.DataFrame) -> None:
    if _empty(daily):
        _no_data(ax)
    else:
        days = _days(daily)
        registered = daily["users_registered"].to_numpy(float)
        revenue = daily["revenue"].to_numpy(float)
        net = revenue - daily["cost_money"].to_numpy(float)
        ax.plot(
            days,
            ratio(np.cumsum(revenue), registered),
            label="gross revenue",
            lw=1.8,
            marker=_marker(days),
        )
        ax.plot(
            days,
            ratio(np.cumsum(net), registered),
            label="net (revenue − cost)",
            lw=1.8,
            marker=_marker(days),
        )
        ax.axhline(0, color="0.5", lw=0.8)
        _comma_labels(ax)
        _outside_legend(ax)
    ax.set_title("(a) Cumulative value per registered user")
    ax.set_xlabel("day of simulation (days)")
    ax.set_ylabel("¥ per registered user")
    ax.grid(alpha=0.3)


def _ltv_cohort_panel(
    ax: Axes, users: pd.DataFrame, purchases: pd.DataFrame | None, horizon: int
) -> None:
    ax.set_title("(b) Mean cumulative revenue per arrival, by days since joining")
    ax.set_xlabel("days since joining")
    ax.set_ylabel("¥ per user (cumulative)")
    ax.grid(alpha=0.3)
    join = np.empty(0, np.int64) if _empty(users) else users["join_day"].to_numpy(np.int64)
    arrivals = is_arrival(join)
    if horizon == 0 or not arrivals.any():
        _no_data(ax, "no arrivals")
        return
    if _empty(purchases):
        _no_data(ax, "no purchases")
        return
    last_k = horizon - 1 - join
    rows, p_k, price = arrival_purchases(users, purchases, arrivals, last_k)
    month = _arrival_months(join)
    cohorts = np.unique(month[arrivals])
    k, mean = mean_cumulative_revenue(last_k[arrivals], p_k, last_k[rows], price)
    ax.plot(
        k,
        mean,
        color="black",
        lw=2.2,
        label=f"all arrivals (n={arrivals.sum():,})",
        marker=_marker(k),
    )
    colours = _cohort_colours(len(cohorts))
    for i, m in enumerate(cohorts):
        in_cohort = arrivals & (month == m)
        sel = in_cohort[rows]
        k, mean = mean_cumulative_revenue(
            last_k[in_cohort], p_k[sel], last_k[rows][sel], price[sel]
        )
        label = _legend_label(i, len(cohorts), _cohort_label(join[in_cohort]))
        ax.plot(k, mean, color=colours[i], lw=1.2, label=label, marker=_marker(k))
    _comma_labels(ax)
    _outside_legend(ax)


def plot_ltv(
    daily: pd.DataFrame,
    users: pd.DataFrame,
    purchases: pd.DataFrame | None,
    path: Path | str,
) -> Path:
    """Two panels: value per registered user over calendar days; cohort revenue by user age."""
    fig, axes = new_figure(nrows=2, figsize=(11.0, 9.0))
    _ltv_calendar_panel(axes[0], daily)
    _ltv_cohort_panel(axes[1], users, purchases, horizon_of(daily))
    return save_figure(fig, path)


# --------------------------------------------------------------------------- survival


def _plot_km(ax: Axes, durations: np.ndarray, events: np.ndarray, label: str, colour: str) -> None:
    curve = km_curve(durations, events)
    t = curve["time"].to_numpy(float)
    ax.step(
        t,
        curve["survival"].to_numpy(float),
        where="post",
        color=colour,
        lw=1.8,
        label=f"{label} (n={len(durations):,})",
    )
    ax.fill_between(
        t,
        curve["ci_low"].to_numpy(float),
        curve["ci_high"].to_numpy(float),
        step="post",
        color=colour,
        alpha=0.2,
    )


def plot_survival(users: pd.DataFrame, path: Path | str, max_users: int = KM_MAX_USERS) -> Path:
    """Kaplan–Meier survival of time to churn (95% band): everyone, initial base, arrivals."""
    fig, (ax,) = new_figure()
    title = "Kaplan–Meier survival: time to churn (95% confidence band)"
    if _empty(users):
        _no_data(ax)
    else:
        sample, step = km_sample(users, max_users)
        if step > 1:
            title += f"\nfitted on one user in {step} by user_id: {len(sample):,} of {len(users):,}"
        durations = sample["duration"].to_numpy(float)
        events = sample["churned"].to_numpy(bool)
        arrival = is_arrival(sample["join_day"].to_numpy(np.int64))
        _plot_km(ax, durations, events, "all users", "black")
        for mask, label, colour in ((~arrival, "initial base", "C0"), (arrival, "arrivals", "C1")):
            if mask.any() and mask.sum() < len(mask):
                _plot_km(ax, durations[mask], events[mask], label, colour)
        if not events.any():
            _note(ax, "nobody churned")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=9, loc="lower left")
    ax.set_title(title)
    ax.set_xlabel("days since joining (initial base: since day 0)")
    ax.set_ylabel("share not churned (survival)")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- groups


def _group_size_panel(ax: Axes, days: np.ndarray, daily: pd.DataFrame) -> None:
    alive = daily["groups_alive"].to_numpy(float)
    size = ratio(daily["group_members"].to_numpy(float), alive)
    ax.plot(days, alive, color="C0", lw=1.8, label="groups alive", marker=_marker(days))
    ax.set_ylabel("groups")
    ax.set_ylim(bottom=0, top=max(1.0, 1.1 * np.nanmax(alive)))
    _thousands(ax)
    twin = ax.twinx()
    twin.plot(days, size, color="C1", lw=1.5, label="mean members per group", marker=_marker(days))
    twin.set_ylabel("members per group")
    twin.set_ylim(bottom=0, top=max(1.0, 1.1 * np.nanmax(size)))
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=9, loc="upper left")


def _group_rate_panel(ax: Axes, days: np.ndarray, daily: pd.DataFrame) -> None:
    ax.plot(
        days,
        daily["group_speaking_rate"].to_numpy(float),
        lw=1.5,
        label="speaking rate",
        marker=_marker(days),
    )
    ax.plot(
        days,
        daily["group_open_rate"].to_numpy(float),
        lw=1.5,
        label="message open rate",
        marker=_marker(days),
    )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of members")
    ax.legend(fontsize=9, loc="upper right")


def _group_flow_panel(ax: Axes, days: np.ndarray, daily: pd.DataFrame) -> None:
    ax.plot(
        days,
        daily["group_joins"].to_numpy(float),
        lw=1.3,
        color="C2",
        label="joins",
        marker=_marker(days),
    )
    ax.plot(
        days,
        daily["group_leaves"].to_numpy(float),
        lw=1.3,
        color="C3",
        label="leaves",
        marker=_marker(days),
    )
    ax.set_ylabel("users per day")
    _thousands(ax)
    ax.legend(fontsize=9, loc="upper right")


def plot_group_health(daily: pd.DataFrame, path: Path | str) -> Path:
    """Three panels over days: groups alive and size; speaking and open rates; joins and leaves."""
    fig, axes = new_figure(nrows=3, figsize=(9.0, 10.0))
    titles = (
        "Groups alive and mean group size",
        "Group speaking rate and message open rate",
        "Group joins and leaves",
    )
    has_groups = not _empty(daily) and bool((daily["groups_alive"] > 0).any())
    for ax, title, panel in zip(
        axes, titles, (_group_size_panel, _group_rate_panel, _group_flow_panel), strict=True
    ):
        if has_groups:
            panel(ax, _days(daily), daily)
        else:
            _no_data(ax, "no groups")
        ax.set_title(title)
        ax.set_xlabel("day of simulation (days)")
        ax.grid(alpha=0.3)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- all


def plot_run(tables: Mapping[str, pd.DataFrame], out_dir: Path | str) -> list[str]:
    """Make every plot of a run into ``out_dir``; returns the written paths (as strings)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    daily = tables.get("daily")
    users = tables.get("users")
    purchases = tables.get("purchases")
    # the plots of the daily table first: `siyu run` writes the big users table meanwhile
    # (sim.runs.folder), and the per-user plots' temporaries then do not add to its buffers
    written = [
        plot_stage_flow(daily, out_dir / "stage_flow.png"),
        plot_group_health(daily, out_dir / "group_health.png"),
        plot_retention(users, daily, out_dir / "retention.png"),
        plot_ltv(daily, users, purchases, out_dir / "ltv.png"),
        plot_survival(users, out_dir / "survival.png"),
    ]
    return [str(p) for p in written]
