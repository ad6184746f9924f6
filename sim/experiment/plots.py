"""Summary figures of an experiment's analysis (``analysis/plots/*.png``).

* ``effects.png`` — every arm's effect on the key metrics against the control, one panel (and
  unit) per metric, with intervals;
* ``retention.png``, ``ltv.png`` — curves per arm (first cell) with their bands across
  replications, above each arm's difference from the control with its paired interval;
* ``survival.png`` — Kaplan–Meier curves per arm (first cell) with their intervals;
* ``qini_<arm>.png`` — uplift curves: targeting by true effect, by a model's estimate, at random;
* ``surface_net_value.png`` — for sweeps: net value per user difference across the cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.metrics import KEY_METRICS, metric, metric_name, metric_unit
from sim.io.figures import new_figure, save_figure
from sim.plots.style import CONTROL, arm_colours

if TYPE_CHECKING:
    from sim.experiment.spec import ExperimentSpec


def _save(fig, path: Path) -> str:
    return save_figure(fig, path).name


def _first_cell(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "cell" not in frame:
        return frame
    return frame[frame["cell"] == frame["cell"].iloc[0]]


def _labels(frame: pd.DataFrame) -> dict[str, str]:
    """Arm key to label, from a table's ``arm`` and ``label`` columns."""
    if frame.empty or "label" not in frame:
        return {}
    return dict(zip(frame["arm"], frame["label"], strict=True))


def _control_name(spec: ExperimentSpec | None) -> str:
    return spec.label(CONTROL) if spec is not None else CONTROL


def _effect_panel(ax, rows: pd.DataFrame, key: str, arms: list[str], colours, labels) -> None:
    """One metric: each arm's difference (a dot, filled when significant) and its interval."""
    scale = 100 if metric(key).kind == "share" else 1
    for y, arm in enumerate(arms):
        found = rows[rows["arm"] == arm]
        if found.empty or not np.isfinite(found.iloc[0]["difference"]):
            continue
        r = found.iloc[0]
        lo, hi = scale * r["ci_low"], scale * r["ci_high"]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=colours[arm], lw=2.2)
        ax.plot([scale * r["difference"]], [y], "o", ms=8, color=colours[arm],
                mfc=colours[arm] if r["significant"] else "white", mew=2)  # fmt: skip
    ax.axvline(0, color="0.3", lw=0.9, ls="--")
    ax.set_yticks(range(len(arms)), [labels.get(a, a) for a in arms])
    ax.set_ylim(len(arms) - 0.4, -0.6)
    ax.set_title(metric_name(key), fontsize=10)
    ax.set_xlabel(f"arm − control ({metric_unit(key, difference=True)})", fontsize=9)


def plot_effects(comparison: pd.DataFrame, path: Path, spec: ExperimentSpec | None = None) -> str:
    """One panel per key metric (its own scale and unit, so a large effect on cost does not
    squash the others): every arm's difference from the control with its interval."""
    c = _first_cell(comparison)
    keys = [k for k in KEY_METRICS if (c["metric"] == k).any()]
    arms = [a for a in (spec.arm_names if spec else dict.fromkeys(c["arm"])) if a != CONTROL]
    arms = [a for a in arms if (c["arm"] == a).any()]
    colours = arm_colours([CONTROL, *arms] if spec is None else spec.arm_names)
    ncol = 2
    nrow = max(1, -(-len(keys) // ncol))
    fig, axes = new_figure(nrow, figsize=(11, 0.9 + nrow * (0.9 + 0.35 * len(arms))), ncols=ncol)
    for ax, key in zip(axes, keys, strict=False):
        _effect_panel(ax, c[c["metric"] == key], key, arms, colours, _labels(c))
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    level = _level(spec)
    fig.suptitle(f"Effect of each arm against the control ({_control_name(spec)}): "
                 f"difference and {level} interval; filled dot = significant after correction",
                 fontsize=10)  # fmt: skip
    return _save(fig, path)


def _curves(frame: pd.DataFrame, x: str, y: str, path: Path, colours: dict[str, str],
            labels: tuple[str, str, str], scale: float = 1.0) -> str:  # fmt: skip
    """One line per arm (in the arm's colour); ``labels`` = (title, x label, y label)."""
    f = _first_cell(frame)
    fig, (ax,) = new_figure(figsize=(9, 5))
    for arm in colours:
        g = f[f["arm"] == arm].sort_values(x)
        if g.empty:
            continue
        label = _labels(g).get(arm, arm)
        if x == "time":
            ax.step(g[x], scale * g[y], where="post", color=colours[arm], label=label)
        else:
            ax.plot(g[x], scale * g[y], color=colours[arm], label=label)
        if {"ci_low", "ci_high"} <= set(g.columns):
            ax.fill_between(g[x], scale * g["ci_low"], scale * g["ci_high"], color=colours[arm],
                            alpha=0.15, step="post" if x == "time" else None)  # fmt: skip
    title, xlabel, ylabel = labels
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _band(ax, g: pd.DataFrame, x: str, low: str, high: str, colour: str, scale: float = 1.0,
          alpha: float = 0.15) -> None:  # fmt: skip
    """Shade ``low``..``high`` of one arm's curve, where the table has them (≥ 2 replications)."""
    if {low, high} <= set(g.columns) and g[low].notna().any():
        ax.fill_between(g[x], scale * g[low], scale * g[high], color=colour, alpha=alpha, lw=0)


def _difference_panel(ax, f: pd.DataFrame, value: str, colours: dict[str, str], scale: float,
                      ylabel: str) -> None:  # fmt: skip
    """Each treated arm's ``<value>_difference`` by day with its paired interval, zero dashed."""
    column = f"{value}_difference"
    if column not in f:
        ax.set_visible(False)
        return
    for arm in colours:
        g = f[(f["arm"] == arm) & f[column].notna()].sort_values("day")
        if arm == CONTROL or g.empty:
            continue
        ax.plot(g["day"], scale * g[column], color=colours[arm], lw=1.8,
                label=_labels(g).get(arm, arm))  # fmt: skip
        _band(ax, g, "day", f"{column}_low", f"{column}_high", colours[arm], scale, 0.2)
    ax.axhline(0, color="0.3", lw=0.9, ls="--")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def _level(spec: ExperimentSpec | None) -> str:
    return "95%" if spec is None else f"{1 - spec.analysis.alpha:.0%}"


def plot_retention(retention: pd.DataFrame, path: Path, colours: dict[str, str],
                   spec: ExperimentSpec | None = None) -> str:  # fmt: skip
    """Top: share retained per arm with its band across replications; bottom: arm − control in
    percentage points with the paired interval (the comparison table's method)."""
    f = _first_cell(retention)
    fig, (top, bottom) = new_figure(2, figsize=(9, 7.5))
    for arm in colours:
        g = f[f["arm"] == arm].sort_values("day")
        if g.empty:
            continue
        top.plot(g["day"], 100 * g["retained"], color=colours[arm], label=_labels(g).get(arm, arm))
        _band(top, g, "day", "retained_low", "retained_high", colours[arm], 100)
    level = _level(spec)
    top.set_title(f"Retention by days since joining (shaded: {level} interval across "
                  "replications)", fontsize=10)  # fmt: skip
    top.set_ylabel("still in the private domain (%)")
    top.legend(fontsize=8)
    _difference_panel(bottom, f, "retained", colours, 100, "arm − control (percentage points)")
    bottom.set_title(f"Difference from the control ({_control_name(spec)}), {level} paired "
                     "interval", fontsize=10)  # fmt: skip
    for ax in (top, bottom):
        ax.set_xlabel("days since joining")
    return _save(fig, path)


def plot_ltv(ltv: pd.DataFrame, path: Path, colours: dict[str, str],
             spec: ExperimentSpec | None = None) -> str:  # fmt: skip
    """Top: cumulative gross (solid) and net of cost (dashed, drawn on top so it shows where it
    equals the gross line) value per user, one colour per arm, the net line with its band
    across replications; bottom: net value per user, arm − control, with the paired interval."""
    f = _first_cell(ltv)
    fig, (top, bottom) = new_figure(2, figsize=(9, 8))
    for arm in colours:
        g = f[f["arm"] == arm].sort_values("day")
        if g.empty:
            continue
        label = _labels(g).get(arm, arm)
        top.plot(g["day"], g["gross"], color=colours[arm], lw=1.6, label=f"{label}: gross")
        top.plot(g["day"], g["net"], color=colours[arm], lw=2.2, ls=(0, (4, 3)),
                 label=f"{label}: net of cost")  # fmt: skip
        _band(top, g, "day", "net_low", "net_high", colours[arm])  # gross's band: in the table
    level = _level(spec)
    top.set_title(f"Cumulative value per user: gross (solid), net of cost (dashed; shaded: "
                  f"{level} interval across replications)", fontsize=10)  # fmt: skip
    top.set_ylabel("¥ per user (cumulative)")
    top.legend(fontsize=8, ncols=2)
    _difference_panel(bottom, f, "net", colours, 1, "arm − control (¥ per user, cumulative)")
    bottom.set_title(f"Net value per user, difference from the control ({_control_name(spec)}), "
                     f"{level} paired interval", fontsize=10)  # fmt: skip
    for ax in (top, bottom):
        ax.set_xlabel("day of the experiment")
    return _save(fig, path)


def plot_qini(qini: pd.DataFrame, arm: str, path: Path, label: str | None = None) -> str:
    f = _first_cell(qini)
    f = f[f["arm"] == arm]
    fig, (ax,) = new_figure(figsize=(7, 5))
    styles = {"true effect": ("black", "-"), "model estimate": ("#d62728", "-"),
              "random": ("0.5", "--")}  # fmt: skip
    for targeting, g in f.groupby("targeting", sort=False):
        colour, ls = styles.get(targeting, ("#1f77b4", "-"))
        ax.plot(100 * g["fraction_targeted"], g["cumulative_gain"], color=colour, ls=ls,
                label=targeting)  # fmt: skip
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel("users targeted, best first (% of users)")
    ax.set_ylabel("cumulative true net value gain per user (¥)")
    ax.set_title(f"Uplift (Qini) curves: {label or arm}")
    ax.legend()
    return _save(fig, path)


def plot_surface(comparison: pd.DataFrame, spec: ExperimentSpec, index_values, path: Path):
    """Net value difference per user across sweep cells (1 or 2 swept parameters)."""
    c = comparison[comparison["metric"] == "net_value_per_user"].merge(index_values, on="cell")
    params = [col for col in index_values.columns if col != "cell"]
    fig, (ax,) = new_figure(figsize=(8, 5.5))
    colours = arm_colours(spec.arm_names)
    for arm, g in c.groupby("arm", sort=False):
        label = g["label"].iloc[0]
        if len(params) == 1:
            g = g.sort_values(params[0])
            ax.errorbar(g[params[0]], g["difference"],
                        yerr=[g["difference"] - g["ci_low"], g["ci_high"] - g["difference"]],
                        marker="o", capsize=3, color=colours[arm], label=label)  # fmt: skip
            ax.set_xlabel(params[0])
        else:
            sc = ax.scatter(g[params[0]], g[params[1]], c=g["difference"], cmap="RdYlGn", s=160,
                            edgecolors="k")  # fmt: skip
            for _, r in g.iterrows():
                ax.annotate(f"{r['difference']:.1f}", (r[params[0]], r[params[1]]), fontsize=7,
                            ha="center", va="bottom", xytext=(0, 8),
                            textcoords="offset points")  # fmt: skip
            ax.set_xlabel(params[0])
            ax.set_ylabel(params[1])
            fig.colorbar(sc, ax=ax, label="net value per user vs control (¥)")
            break  # one arm per surface
    if len(params) == 1:
        ax.axhline(0, color="grey", lw=1)
        ax.set_ylabel("net value per user vs control (¥, 95% CI)")
        ax.legend()
    ax.set_title("Sweep: net value per user, difference vs control")
    return _save(fig, path)


def plot_analysis(tables: dict[str, pd.DataFrame], spec: ExperimentSpec, out: Path,
                  sweep_values: pd.DataFrame | None = None) -> list[str]:  # fmt: skip
    """Write the experiment's figures to ``out``; every arm has the same colour in all of them
    (:func:`sim.plots.style.arm_colours` of the experiment's arms)."""
    out.mkdir(parents=True, exist_ok=True)
    colours = arm_colours(spec.arm_names)
    written = [plot_effects(tables["comparison"], out / "effects.png", spec)]
    if not tables["retention"].empty:
        written.append(plot_retention(tables["retention"], out / "retention.png", colours, spec))
    if not tables["ltv"].empty:
        written.append(plot_ltv(tables["ltv"], out / "ltv.png", colours, spec))
    if not tables["survival"].empty:
        written.append(_curves(tables["survival"], "time", "survival", out / "survival.png",
                               colours, ("Kaplan–Meier survival (not churned), with intervals",
                                         "days since joining", "not yet churned (%)"),
                               scale=100))  # fmt: skip
    qini = tables.get("qini")
    if qini is not None and not qini.empty:
        for arm in dict.fromkeys(qini["arm"]):
            written.append(plot_qini(qini, arm, out / f"qini_{arm}.png", spec.label(arm)))
    if sweep_values is not None and len(sweep_values) > 1:
        written.append(plot_surface(tables["comparison"], spec, sweep_values,
                                    out / "surface_net_value.png"))  # fmt: skip
    return written
