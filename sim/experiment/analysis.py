"""Analysing a finished experiment: every arm against control, with honest uncertainty.

For each cell, replication and arm the arm's world is set against the control world of the same
replication (same seed: common random numbers). The **analysis set** of an arm is its
intention-to-treat population: users assigned to the treatment on arrival, who exist in every
world (referred arrivals are born of one world's referrals, so they are outcomes, not units). The
same users are read in the control world, so each user's effect is known.

* ``comparison.parquet`` — per metric: control and arm means, the difference with a confidence
  interval from paired replications (t on per-replication differences; with a single replication,
  paired users with a cluster-robust SE), the unpaired (Welch) interval for reference, the p-value
  corrected across arms × metrics of a cell (Holm or Benjamini–Hochberg), the minimum detectable
  effect at the chosen power;
* ``economics``, ``retention``, ``ltv``, ``survival``, ``survival_tests``, ``cox``, ``funnel``,
  ``segments``, ``uplift``, ``qini`` and (when only a share of units is treated) ``in_world`` —
  see ``docs/EXPERIMENTS.md`` for every column;
* ``plots/`` — the summary figures.

Written atomically to ``<experiment>/analysis/``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import outcomes as oc
from sim.analysis import stats, survival, uplift
from sim.experiment.index import read_index, read_manifest
from sim.experiment.plots import plot_analysis
from sim.experiment.spec import CONTROL, ExperimentSpec
from sim.io.folders import folder_state, publish_folder, write_folder_atomically
from sim.runs.folder import RunFolderError, load_run

ANALYSIS_DIR = "analysis"
SEGMENT_METRICS = ("net_value_per_user", "churned_share", "retention_d30")
EFFECT_COLUMNS = ("net_value", "revenue", "churned")
COX_COVARIATES = ("initial_stage", "channel")


_NOT_OBSERVABLE = stats.Estimate(*(float("nan"),) * 4, p_value=float("nan"), n=0,
                                 df=float("nan"), method="none")  # fmt: skip


class AnalysisError(RunFolderError):
    """The folder is not an experiment, or has nothing to compare."""


@dataclass
class _Collector:
    """Rows gathered while walking the runs, one list per output table."""

    metrics: list[dict] = field(default_factory=list)
    per_user: dict[tuple, list] = field(default_factory=lambda: defaultdict(list))
    tables: dict[str, list[pd.DataFrame]] = field(default_factory=lambda: defaultdict(list))
    survival_runs: dict[tuple, list] = field(default_factory=lambda: defaultdict(list))
    cox_frames: dict[tuple, pd.DataFrame] = field(default_factory=dict)

    def add(self, name: str, frame: pd.DataFrame, **keys: Any) -> None:
        frame = frame.copy()
        for k, v in reversed(keys.items()):
            frame.insert(0, k, v)
        self.tables[name].append(frame)

    def frame(self, name: str) -> pd.DataFrame:
        parts = self.tables.get(name)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --------------------------------------------------------------------------- loading
def load_experiment_folder(folder: Path) -> tuple[ExperimentSpec, dict, pd.DataFrame]:
    manifest = read_manifest(folder)
    if manifest is None:
        raise AnalysisError(f"{folder} is not a siyu experiment folder (no valid experiment.json)")
    spec = ExperimentSpec.model_validate(manifest["config"])
    return spec, manifest, read_index(folder)


class _Run:
    """One finished run's tables and per-user outcomes, loaded once."""

    def __init__(self, folder: Path, horizon: int, rate: float) -> None:
        self.tables = load_run(folder).tables
        self.users = self.tables["users"]
        self.outcomes = oc.user_outcomes(self.tables, horizon, rate)
        exists_everywhere = self.users["referrer_id"].to_numpy() < 0
        self.outcomes["in_every_world"] = exists_everywhere
        self.world = oc.world_metrics(self.tables, horizon)

    def itt_ids(self) -> np.ndarray:
        o = self.outcomes
        return o.index[o["assigned"].to_numpy() & o["in_every_world"].to_numpy()].to_numpy()


def _rmst(run: _Run, ids: np.ndarray, tau: int) -> float:
    o = run.outcomes.loc[ids]
    return survival.rmst_difference(o["duration"], o["event"], o["duration"], o["event"], tau)[
        "rmst_a"
    ]


# --------------------------------------------------------------------------- walking the runs
def _compare_pair(
    col: _Collector, spec: ExperimentSpec, cell: str, rep: int, arm: str, arm_run: _Run,
    ctrl: _Run, tau: int,
) -> None:  # fmt: skip
    ids = np.intersect1d(arm_run.itt_ids(), ctrl.outcomes.index.to_numpy())
    label = spec.label(arm)
    for world, run in (("arm", arm_run), ("control", ctrl)):
        values = oc.run_metrics(run.outcomes, ids)
        values["rmst"] = _rmst(run, ids, tau)
        for metric, value in values.items():
            col.metrics.append(dict(cell=cell, arm=arm, replication=rep, world=world,
                                    scope="user", metric=metric, value=value))  # fmt: skip
        for metric, value in run.world.items():
            col.metrics.append(dict(cell=cell, arm=arm, replication=rep, world=world,
                                    scope="world", metric=f"world_{metric}",
                                    value=value))  # fmt: skip
    a, c = arm_run.outcomes.loc[ids], ctrl.outcomes.loc[ids]
    features = arm_run.users.set_index("user_id").loc[ids].reset_index() if rep == 0 else None
    col.per_user[(cell, arm, rep)] = (a, c, features)
    col.survival_runs[(cell, arm)].append((a[["duration", "event"]], c[["duration", "event"]]))
    keys = dict(cell=cell, arm=arm, label=label)
    col.add("funnel", oc.funnel(arm_run.outcomes, ids), **keys, replication=rep)
    col.add("retention", oc.retention_curve(arm_run.outcomes, spec.days, user_ids=ids), **keys,
            replication=rep)  # fmt: skip
    col.add("ltv", oc.ltv_curve(arm_run.tables, spec.days, ids, spec.analysis.discount_rate),
            **keys, replication=rep)  # fmt: skip
    for segment in oc.SEGMENTS:
        arm_seg = oc.segment_metrics(arm_run.outcomes, segment, ids)
        ctrl_seg = oc.segment_metrics(ctrl.outcomes, segment, ids)
        for metric in SEGMENT_METRICS:
            merged = arm_seg[[segment, "n_users", metric]].merge(
                ctrl_seg[[segment, metric]], on=segment, suffixes=("_arm", "_control")
            )
            col.add("segment_runs", pd.DataFrame({
                "segment": segment, "value": merged[segment].astype(str),
                "metric": metric, "arm_mean": merged[f"{metric}_arm"],
                "control_mean": merged[f"{metric}_control"], "n_users": merged["n_users"],
            }), cell=cell, arm=arm, label=label, replication=rep)  # fmt: skip
    if rep == 0:
        both = pd.concat([a.assign(arm_indicator=1), c.assign(arm_indicator=0)])
        col.cox_frames[(cell, arm)] = both
    if spec.randomisation.share < 1.0:
        _in_world(col, spec, cell, rep, arm, arm_run, ctrl)


def _in_world(
    col: _Collector, spec: ExperimentSpec, cell: str, rep: int, arm: str, arm_run: _Run,
    ctrl: _Run,
) -> None:  # fmt: skip
    """What a real A/B test in the arm's world would see, and the spillover on the others."""
    o = arm_run.outcomes[arm_run.outcomes["in_every_world"]]
    users = arm_run.users.set_index("user_id").loc[o.index]
    units = spec.randomisation.units(o.index.to_numpy(np.int64), users["arrival_group"].to_numpy())
    clusters = units if spec.randomisation.unit == "group" else None
    untreated = o.index[~o["assigned"].to_numpy()].to_numpy()
    untreated = np.intersect1d(untreated, ctrl.outcomes.index.to_numpy())
    for column in EFFECT_COLUMNS:
        est = stats.within_world_difference(
            o[column].astype(float).to_numpy(), o["assigned"].to_numpy(), clusters,
            alpha=spec.analysis.alpha,
        )  # fmt: skip
        spill = float(arm_run.outcomes.loc[untreated, column].astype(float).mean()
                      - ctrl.outcomes.loc[untreated, column].astype(float).mean())  # fmt: skip
        col.add("in_world", pd.DataFrame([{
            "metric": column, **{f"ab_{k}": v for k, v in est.to_dict().items()},
            "spillover_on_untreated": spill, "untreated_users": len(untreated),
        }]), cell=cell, arm=arm, replication=rep)  # fmt: skip


def _walk_runs(folder: Path, spec: ExperimentSpec, index: pd.DataFrame) -> _Collector:
    col = _Collector()
    done = index[index["status"] == "done"]
    tau = spec.analysis.rmst_days or spec.days
    rate = spec.analysis.discount_rate
    for (cell, rep), runs in done.groupby(["cell", "replication"], sort=True):
        paths = dict(zip(runs["arm"], runs["path"], strict=True))
        if CONTROL not in paths:
            continue
        ctrl = _Run(folder / paths[CONTROL], spec.days, rate)
        ctrl_ids = ctrl.itt_ids()
        keys = dict(cell=cell, arm=CONTROL, label=spec.label(CONTROL), replication=int(rep))
        col.add("funnel", oc.funnel(ctrl.outcomes, ctrl_ids), **keys)
        col.add("retention", oc.retention_curve(ctrl.outcomes, spec.days, user_ids=ctrl_ids),
                **keys)  # fmt: skip
        col.add("ltv", oc.ltv_curve(ctrl.tables, spec.days, ctrl_ids, rate), **keys)
        for arm in spec.arm_names[1:]:
            if arm in paths:
                arm_run = _Run(folder / paths[arm], spec.days, rate)
                _compare_pair(col, spec, cell, int(rep), arm, arm_run, ctrl, tau)
    return col


# --------------------------------------------------------------------------- statistics
def _per_user_estimate(col: _Collector, cell: str, arm: str, metric: str, spec) -> Any:
    """Single replication: paired users (CRN), clustered by randomisation unit."""
    column = oc.METRICS.get(metric)
    pair = col.per_user.get((cell, arm, 0))
    if column is None or pair is None:
        return None
    a, c, _ = pair
    keep = a[column].notna().to_numpy() & c[column].notna().to_numpy()
    clusters = None
    if spec.randomisation.unit == "group":
        clusters = a["arrival_group"].where(a["arrival_group"] >= 0, -1 - np.arange(len(a)))
        clusters = clusters.to_numpy()[keep]
    return stats.paired_user_difference(
        a[column].astype(float).to_numpy()[keep], c[column].astype(float).to_numpy()[keep],
        clusters, alpha=spec.analysis.alpha,
    )  # fmt: skip


def comparison_table(col: _Collector, spec: ExperimentSpec) -> pd.DataFrame:
    metrics = pd.DataFrame(col.metrics)
    if metrics.empty:
        return pd.DataFrame()
    metrics = metrics.assign(world=metrics["world"].map({"arm": "in_arm", "control": "in_control"}))
    wide = (
        metrics.set_index(["cell", "arm", "scope", "metric", "replication", "world"])["value"]
        .unstack("world")
        .reset_index()
    )
    alpha, power = spec.analysis.alpha, spec.analysis.power
    rows = []
    for (cell, arm, scope, metric), g in wide.groupby(
        ["cell", "arm", "scope", "metric"], sort=False
    ):
        replications = len(g)
        g = g.dropna(subset=["in_arm", "in_control"])
        t, c = g["in_arm"].to_numpy(float), g["in_control"].to_numpy(float)
        if len(g) == 0:
            est, method = _NOT_OBSERVABLE, "not observable in this horizon"
        elif replications >= 2:
            est, method = stats.paired_difference(t, c, alpha), "paired replications"
        else:
            est = _per_user_estimate(col, cell, arm, metric, spec) if scope == "user" else None
            method = "paired users (one replication)"
            if est is None:
                est = stats.paired_difference(t, c, alpha)
                method = "one replication: no interval"
        unpaired = stats.unpaired_difference(t, c, alpha) if len(g) else _NOT_OBSERVABLE
        control_mean = float(np.mean(c)) if len(c) else np.nan
        se_ok = np.isfinite(est.se) and est.se > 0
        rows.append({
            "cell": cell, "arm": arm, "label": spec.label(arm), "metric": metric, "scope": scope,
            "control_mean": control_mean, "arm_mean": float(np.mean(t)) if len(t) else np.nan,
            "difference": est.estimate,
            "relative": est.estimate / control_mean if control_mean else np.nan,
            "se": est.se, "ci_low": est.ci_low, "ci_high": est.ci_high, "p_value": est.p_value,
            "mde": stats.mde(est.se, alpha, power, est.df) if se_ok else np.nan,
            "n_replications": int(len(g)), "method": method,
            "unpaired_se": unpaired.se, "unpaired_ci_low": unpaired.ci_low,
            "unpaired_ci_high": unpaired.ci_high,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby("cell").groups.items():
        table.loc[idx, "p_adjusted"] = stats.adjust_pvalues(
            table.loc[idx, "p_value"].to_numpy(float), spec.analysis.correction
        )
    table["significant"] = table["p_adjusted"] < alpha
    return table


def economics_table(comparison: pd.DataFrame) -> pd.DataFrame:
    if comparison.empty:
        return pd.DataFrame()
    pick = comparison.set_index(["cell", "arm", "label", "metric"])["difference"].unstack("metric")
    out = pd.DataFrame({
        "incremental_revenue_per_user": pick.get("revenue_per_user"),
        "incremental_cost_per_user": pick.get("cost_per_user"),
        "incremental_net_per_user": pick.get("net_value_per_user"),
    }).reset_index()  # fmt: skip
    out["roi"] = [
        oc.roi(r, c)
        for r, c in zip(out["incremental_revenue_per_user"], out["incremental_cost_per_user"],
                        strict=True)
    ]  # fmt: skip
    return out


def _mean_curves(frame: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    keys = ["cell", "arm", "label", *on]
    values = [c for c in frame.columns if c not in (*keys, "replication")]
    return frame.groupby(keys, sort=False, observed=True)[values].mean().reset_index()


CURVE_VALUES = {
    "retention": ("retained",),
    "ltv": ("gross", "net", "gross_discounted", "net_discounted"),
}
"""The columns of each curve table that get a band and an arm − control difference."""


def _by_replication(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """One curve's ``value``: replications as rows, days as columns."""
    return frame.pivot(index="replication", columns="day", values=value).sort_index(axis=1)


def _curve_bands(frame: pd.DataFrame, cell: str, arm: str, control: pd.DataFrame,
                 values: tuple[str, ...], alpha: float) -> pd.DataFrame:  # fmt: skip
    """One arm's curve: the band of each value across replications and, for a treated arm,
    the paired arm − control difference per day (replication r against control replication r:
    the comparison table's method, :func:`sim.analysis.stats.paired_difference`)."""
    columns: dict[str, Any] = {}
    for value in values:
        wide = _by_replication(frame, value)
        band = stats.mean_band(wide.to_numpy(), alpha)
        columns.update({"day": wide.columns.to_numpy(), "n_replications": band.n,
                        f"{value}_low": band.ci_low, f"{value}_high": band.ci_high})  # fmt: skip
        if arm != CONTROL and not control.empty:
            ctrl = _by_replication(control, value).reindex(index=wide.index, columns=wide.columns)
            diff = stats.paired_difference_band(wide.to_numpy(), ctrl.to_numpy(), alpha)
            columns.update({f"{value}_difference": diff.estimate,
                            f"{value}_difference_low": diff.ci_low,
                            f"{value}_difference_high": diff.ci_high})  # fmt: skip
    return pd.DataFrame({"cell": cell, "arm": arm, **columns})


def curve_table(frame: pd.DataFrame, values: tuple[str, ...], alpha: float) -> pd.DataFrame:
    """Per cell, arm and day: the mean curve over replications with its band (``<value>_low``,
    ``<value>_high``: t interval of the mean across replications) and, for treated arms, the
    arm − control difference with its paired interval (``<value>_difference[_low|_high]``).
    With one replication the bands and intervals are NaN (nothing to vary over)."""
    if frame.empty:
        return frame
    parts = []
    for (cell, arm), g in frame.groupby(["cell", "arm"], sort=False):
        control = frame[(frame["cell"] == cell) & (frame["arm"] == CONTROL)]
        parts.append(_curve_bands(g, cell, arm, control, values, alpha))
    bands = pd.concat(parts, ignore_index=True)
    return _mean_curves(frame, ["day"]).merge(bands, on=["cell", "arm", "day"], how="left")


def segments_table(col: _Collector, spec: ExperimentSpec) -> pd.DataFrame:
    runs = col.frame("segment_runs")
    if runs.empty:
        return runs
    rows = []
    keys = ["cell", "arm", "label", "segment", "value", "metric"]
    for key, g in runs.groupby(keys, sort=False):
        g = g.dropna(subset=["arm_mean", "control_mean"])
        est = stats.paired_difference(g["arm_mean"], g["control_mean"], spec.analysis.alpha)
        rows.append({**dict(zip(keys, key, strict=True)),
                     "control_mean": g["control_mean"].mean(), "arm_mean": g["arm_mean"].mean(),
                     "difference": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                     "n_users": int(g["n_users"].mean()) if len(g) else 0})  # fmt: skip
    return pd.DataFrame(rows)


def survival_tables(col: _Collector, spec: ExperimentSpec) -> tuple[pd.DataFrame, ...]:
    tau = spec.analysis.rmst_days or spec.days
    curves, tests, cox = [], [], []
    for (cell, arm), pairs in col.survival_runs.items():
        arm_d = pd.concat([p[0] for p in pairs])
        ctrl_d = pd.concat([p[1] for p in pairs])
        for who, d in ((arm, arm_d), (CONTROL, ctrl_d)):
            if who == CONTROL and any(c["arm"] == CONTROL and c["cell"] == cell for c in curves):
                continue
            k = survival.km_curve(d["duration"], d["event"])
            curves.append({"cell": cell, "arm": who, "label": spec.label(who), "frame": k})
        lr = survival.logrank(arm_d["duration"], arm_d["event"], ctrl_d["duration"],
                              ctrl_d["event"])  # fmt: skip
        rm = survival.rmst_difference(arm_d["duration"], arm_d["event"], ctrl_d["duration"],
                                      ctrl_d["event"], tau)  # fmt: skip
        tests.append({"cell": cell, "arm": arm, "label": spec.label(arm),
                      "logrank_statistic": lr["statistic"], "logrank_p": lr["p_value"],
                      "tau": tau, "rmst_arm": rm["rmst_a"], "rmst_control": rm["rmst_b"],
                      "rmst_difference": rm["difference"]})  # fmt: skip
        frame = col.cox_frames.get((cell, arm))
        if frame is not None and frame["event"].any():
            hr = survival.cox_hazard_ratios(
                frame.reset_index(drop=True), "duration", "event",
                ["arm_indicator", *COX_COVARIATES], max_rows=spec.analysis.cox_max_rows,
                seed=spec.seed, categorical=COX_COVARIATES,
            )  # fmt: skip
            hr.insert(0, "arm", arm)
            hr.insert(0, "cell", cell)
            cox.append(hr)
    km = pd.concat(
        [c["frame"].assign(cell=c["cell"], arm=c["arm"], label=c["label"]) for c in curves],
        ignore_index=True,
    ) if curves else pd.DataFrame()  # fmt: skip
    return km, pd.DataFrame(tests), (pd.concat(cox, ignore_index=True) if cox else pd.DataFrame())


def _rmst_ci(tests: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """The RMST difference's interval comes from the paired replications (the 'rmst' metric)."""
    if tests.empty or comparison.empty:
        return tests
    r = comparison[comparison["metric"] == "rmst"][["cell", "arm", "ci_low", "ci_high", "p_value"]]
    r = r.rename(columns={"ci_low": "rmst_ci_low", "ci_high": "rmst_ci_high", "p_value": "rmst_p"})
    return tests.merge(r, on=["cell", "arm"], how="left")


# --------------------------------------------------------------------------- uplift
def uplift_tables(col: _Collector, spec: ExperimentSpec) -> tuple[pd.DataFrame, pd.DataFrame]:

    effects, curves = [], []
    for (cell, arm, rep), (a, c, users) in sorted(col.per_user.items()):
        true = pd.DataFrame({
            "user_id": a.index.to_numpy(np.int64),
            **{f"effect_{m}": a[m].astype(float).to_numpy() - c[m].astype(float).to_numpy()
               for m in EFFECT_COLUMNS},
        })  # fmt: skip
        true["estimate_net_value"] = np.nan
        if users is not None:
            feats = uplift.pretreatment_features(users)
            est = uplift.estimate_uplift(
                feats, a["net_value"].to_numpy(float), c["net_value"].to_numpy(float),
                seed=spec.seed,
            )  # fmt: skip
            true["estimate_net_value"] = est
            effect = true["effect_net_value"].to_numpy()
            rng_score = np.random.default_rng(spec.seed).random(len(effect))
            for name, score in (("true effect", effect), ("model estimate", est),
                                ("random", rng_score)):  # fmt: skip
                q = uplift.qini_curve(effect, score)
                q.insert(0, "targeting", name)
                q.insert(0, "arm", arm)
                q.insert(0, "cell", cell)
                curves.append(q)
        true.insert(0, "replication", rep)
        true.insert(0, "arm", arm)
        true.insert(0, "cell", cell)
        effects.append(true)
    return (
        pd.concat(effects, ignore_index=True) if effects else pd.DataFrame(),
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
    )


# --------------------------------------------------------------------------- the whole thing
def _write_tables(out: Path, tables: dict[str, pd.DataFrame], meta: dict) -> None:
    for name, frame in tables.items():
        frame = frame.copy()
        for c in frame.columns:
            if isinstance(frame[c].dtype, pd.CategoricalDtype):
                frame[c] = frame[c].astype(str)
        frame.to_parquet(out / f"{name}.parquet", index=False)
    (out / "analysis.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


def analyse_experiment(folder: str | Path, plots: bool = True) -> dict[str, pd.DataFrame]:
    """Compute every comparison table of an experiment folder and write ``analysis/``."""
    folder = Path(folder)
    spec, manifest, index = load_experiment_folder(folder)
    col = _walk_runs(folder, spec, index)
    if not col.metrics:
        raise AnalysisError(
            f"{folder}: no replication has both the control and an arm finished; nothing to "
            "compare (see index.parquet for failed or pending runs)"
        )
    comparison = comparison_table(col, spec)
    km, tests, cox = survival_tables(col, spec)
    tables = {
        "comparison": comparison,
        "economics": economics_table(comparison),
        "runs_metrics": pd.DataFrame(col.metrics),
        **{
            name: curve_table(col.frame(name), values, spec.analysis.alpha)
            for name, values in CURVE_VALUES.items()
        },  # fmt: skip
        "funnel": _mean_curves(col.frame("funnel"), ["step"]),
        "segments": segments_table(col, spec),
        "survival": km,
        "survival_tests": _rmst_ci(tests, comparison),
        "cox": cox,
    }
    if spec.randomisation.share < 1.0:
        tables["in_world"] = col.frame("in_world")
    if spec.analysis.uplift:
        tables["uplift"], tables["qini"] = uplift_tables(col, spec)
    meta = {
        "experiment": spec.name, "alpha": spec.analysis.alpha,
        "correction": spec.analysis.correction, "power": spec.analysis.power,
        "discount_rate": spec.analysis.discount_rate, "tau": spec.analysis.rmst_days or spec.days,
        "replications_planned": spec.replications,
        "runs_done": int((index["status"] == "done").sum()),
        "runs_failed": int((index["status"] == "failed").sum()),
        "runs_pending": int((index["status"] == "pending").sum()),
        "randomisation": spec.randomisation.model_dump(),
    }  # fmt: skip

    def fill(tmp: Path) -> None:
        _write_tables(tmp, tables, meta)
        if plots:
            plot_analysis(tables, spec, tmp / "plots", sweep_values(manifest))

    target = folder / ANALYSIS_DIR
    write_folder_atomically(target, fill, lambda tmp: _replace_analysis(tmp, target))
    return tables


def _replace_analysis(tmp: Path, target: Path) -> None:
    """Put the finished ``tmp`` in place of the experiment's own analysis folder, if any."""

    def appeared() -> FileExistsError:
        return FileExistsError(f"{target} appeared while the analysis was being written")

    publish_folder(tmp, target, folder_state(target, lambda _: True), appeared)


def sweep_values(manifest: dict) -> pd.DataFrame | None:
    """cell -> swept parameter values (None without a sweep)."""
    cells = manifest.get("cells") or []
    if len(cells) < 2:
        return None
    return pd.DataFrame([{"cell": c["cell"], **c["values"]} for c in cells])


def load_analysis(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of ``<experiment>/analysis/`` (empty dict when not analysed yet)."""
    target = Path(folder) / ANALYSIS_DIR
    if not target.is_dir():
        return {}
    return {p.stem: pd.read_parquet(p) for p in sorted(target.glob("*.parquet"))}
