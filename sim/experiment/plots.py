"""Summary figures of an experiment's analysis (``analysis/plots/*.png``).

* ``effects.png`` — every arm's effect on the key metrics, relative to control, with intervals;
* ``retention.png``, ``ltv.png``, ``survival.png`` — curves per arm (first cell);
* ``qini_<arm>.png`` — uplift curves: targeting by true effect, by a model's estimate, at random;
* ``surface_net_value.png`` — for sweeps: net value per user difference across the cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.metrics import KEY_METRICS, metric_name
from sim.io.figures import new_figure, save_figure

if TYPE_CHECKING:
    from sim.experiment.spec import ExperimentSpec


def _save(fig, path: Path) -> str:
    return save_figure(fig, path).name


def _first_cell(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "cell" not in frame:
        return frame
    return frame[frame["cell"] == frame["cell"].iloc[0]]


def plot_effects(comparison: pd.DataFrame, path: Path) -> str:
    c = _first_cell(comparison)
    c = c[c["metric"].isin(KEY_METRICS)]
    arms = list(dict.fromkeys(c["label"]))
    fig, (ax,) = new_figure(figsize=(9, 0.5 + 0.45 * len(KEY_METRICS) * max(len(arms), 1)))
    y = 0
    ticks, names = [], []
    for metric in KEY_METRICS:
        for i, arm in enumerate(arms):
            row = c[(c["metric"] == metric) & (c["label"] == arm)]
            if row.empty:
                continue
            r = row.iloc[0]
            base = abs(r["control_mean"]) or 1.0
            mid = 100 * r["difference"] / base
            lo, hi = 100 * r["ci_low"] / base, 100 * r["ci_high"] / base
            colour = f"C{i}"
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [y, y], color=colour, lw=2)
            ax.plot([mid], [y], "o", color=colour, label=arm if metric == KEY_METRICS[0] else None)
            ticks.append(y)
            names.append(f"{metric_name(metric)}{' *' if r['significant'] else ''}")
            y += 1
        y += 0.5
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(ticks, names)
    ax.invert_yaxis()
    ax.set_xlabel("difference vs control, % of the control mean (95% CI); * = significant")
    ax.set_title("Effects of each arm (paired replications)")
    if arms:
        ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def _curves(frame: pd.DataFrame, x: str, ys: list[str], path: Path, title: str, ylabel: str):
    f = _first_cell(frame)
    fig, (ax,) = new_figure(figsize=(9, 5))
    for i, (label, g) in enumerate(f.groupby("label", sort=False)):
        for j, y in enumerate(ys):
            ax.plot(g[x], g[y], color=f"C{i}", ls="-" if j == 0 else "--",
                    label=f"{label} ({y})" if len(ys) > 1 else label)  # fmt: skip
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_qini(qini: pd.DataFrame, arm: str, path: Path) -> str:
    f = _first_cell(qini)
    f = f[f["arm"] == arm]
    fig, (ax,) = new_figure(figsize=(7, 5))
    for targeting, g in f.groupby("targeting", sort=False):
        ax.plot(g["fraction_targeted"], g["cumulative_gain"], label=targeting)
    ax.set_xlabel("share of users targeted (best first)")
    ax.set_ylabel("cumulative true net value gain per user (¥)")
    ax.set_title(f"Uplift (Qini) curves: {arm}")
    ax.legend()
    return _save(fig, path)


def plot_surface(comparison: pd.DataFrame, spec: ExperimentSpec, index_values, path: Path):
    """Net value difference per user across sweep cells (1 or 2 swept parameters)."""
    c = comparison[comparison["metric"] == "net_value_per_user"].merge(index_values, on="cell")
    params = [col for col in index_values.columns if col != "cell"]
    fig, (ax,) = new_figure(figsize=(8, 5.5))
    for i, (label, g) in enumerate(c.groupby("label", sort=False)):
        if len(params) == 1:
            g = g.sort_values(params[0])
            ax.errorbar(g[params[0]], g["difference"],
                        yerr=[g["difference"] - g["ci_low"], g["ci_high"] - g["difference"]],
                        marker="o", capsize=3, color=f"C{i}", label=label)  # fmt: skip
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
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_effects(tables["comparison"], out / "effects.png")]
    if not tables["retention"].empty:
        written.append(_curves(tables["retention"], "day", ["retained"], out / "retention.png",
                               "Retention by days since joining",
                               "share still reachable"))  # fmt: skip
    if not tables["ltv"].empty:
        written.append(_curves(tables["ltv"], "day", ["gross", "net"], out / "ltv.png",
                               "Cumulative value per user (gross and net of cost)",
                               "¥ per user"))  # fmt: skip
    if not tables["survival"].empty:
        written.append(_curves(tables["survival"], "time", ["survival"], out / "survival.png",
                               "Kaplan–Meier survival (not churned)", "survival"))  # fmt: skip
    qini = tables.get("qini")
    if qini is not None and not qini.empty:
        for arm in dict.fromkeys(qini["arm"]):
            written.append(plot_qini(qini, arm, out / f"qini_{arm}.png"))
    if sweep_values is not None and len(sweep_values) > 1:
        written.append(plot_surface(tables["comparison"], spec, sweep_values,
                                    out / "surface_net_value.png"))  # fmt: skip
    return written
