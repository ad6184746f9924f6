"""Backtest: fit on the calibration period, forecast the holdout, compare with what happened.

Forecasts compared, all on the users first seen by the calibration end:

* ``twin`` — the twin (:mod:`sim.twin.model`): BG/BB with activity evidence and recorded
  leaves, with Monte-Carlo intervals (:mod:`sim.twin.forecast`);
* ``bgnbd`` — BG/NBD (Fader, Hardie & Lee 2005, :mod:`sim.twin.bgnbd`) on the same
  (x, t_x, n), in weeks;
* ``bgbb`` — the twin's model without activity and leaves (plain BG/BB): shows what the extra
  evidence is worth;
* ``naive`` — each user repeats its calibration rate: purchase days / days observed (birth day
  included) × holdout days.

Spend: model forecasts × the Gamma–Gamma expected spend per purchase day × the user's price
ladder factor (:mod:`sim.twin.forecast`; the same spend model and factors for the three model
forecasts, so the spend columns differ only by the purchase forecasts); naive: calibration spend
per day × holdout days.

Figures: total purchase days (and spend) forecast vs actual; per-user mean absolute error and
Pearson correlation; mean forecast vs actual by calibration repeat purchase days 0…6, 7+ and the
*profile error* (users-weighted mean absolute difference of those group means); weekly
cumulative tracking (and its mean absolute percentage error). A "purchase" is a purchase day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.io.atomic import strict_json
from sim.io.figures import new_figure, save_figure
from sim.twin.bgnbd import BGNBD
from sim.twin.dates import check_window
from sim.twin.folder import BACKTEST_FORMAT, BACKTEST_JSON, write_folder
from sim.twin.forecast import QUANTILES, Forecast, forecast, week_ends
from sim.twin.model import TwinFit, TwinModel, fit_twin
from sim.twin.rfm import from_day, holdout_outsiders, to_day, user_statistics

METHODS = ("twin", "bgnbd", "bgbb", "naive")
SHORT = {"twin": "twin", "bgnbd": "BG/NBD", "bgbb": "BG/BB", "naive": "naive"}
LABELS = {
    "twin": "twin (buying, stopping, leaving, seen)",
    "bgnbd": "BG/NBD",
    "bgbb": "BG/BB (purchases only)",
    "naive": "naive (own past rate)",
}
FREQUENCY_GROUPS = [str(k) for k in range(7)] + ["7+"]
COLOURS = {"actual": "black", "twin": "#c44e52", "bgnbd": "#4c72b0", "bgbb": "#8172b2",
           "naive": "#999999"}  # fmt: skip


@dataclass
class BacktestResult:
    """Everything a backtest measured (see the module docstring)."""

    calibration_end: pd.Timestamp
    until: pd.Timestamp
    horizon: int
    metrics: dict[str, dict[str, float]]
    verdict: dict[str, bool]
    by_frequency: pd.DataFrame
    weekly: pd.DataFrame
    users: pd.DataFrame
    fits: dict[str, Any]
    coverage: dict[str, float]
    outsiders: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


def _actual_weekly(events: pd.DataFrame, users: pd.Series, cal: int, ends: np.ndarray):
    """Cumulative actual purchase days and spend of the calibration users, by week end."""
    buy = events[(events["event"] == "purchase") & events["user_id"].isin(users)]
    day = buy["date"].to_numpy("datetime64[D]").astype(np.int64) - cal
    frame = pd.DataFrame({"u": buy["user_id"].to_numpy(), "d": day,
                          "a": np.nan_to_num(buy["amount"].to_numpy(np.float64))})  # fmt: skip
    frame = frame[(frame["d"] >= 1) & (frame["d"] <= ends[-1])]
    per_day = frame.groupby(["u", "d"], sort=False)["a"].sum().reset_index()
    week = np.searchsorted(ends, per_day["d"].to_numpy(), side="left")
    counts = np.bincount(week, minlength=ends.size).cumsum()
    spend = np.bincount(week, weights=per_day["a"].to_numpy(), minlength=ends.size).cumsum()
    return counts.astype(np.float64), spend


def _bgnbd_forecasts(stats: pd.DataFrame, ends: np.ndarray) -> tuple[BGNBD, np.ndarray]:
    x = stats["x"].to_numpy(np.float64)
    tx = stats["t_x"].to_numpy(np.float64) / 7.0
    big_t = stats["n"].to_numpy(np.float64) / 7.0
    seen = big_t > 0  # BG/NBD needs T > 0: users born on the last day are new customers
    model = BGNBD().fit(x[seen], tx[seen], big_t[seen])
    out = np.empty((x.size, ends.size))
    for i, h in enumerate(ends):
        out[seen, i] = model.expected_purchases(h / 7.0, x[seen], tx[seen], big_t[seen])
        out[~seen, i] = model.expected_purchases_new(h / 7.0)
    return model, np.nan_to_num(out)


def _model_forecasts(model: TwinModel, stats: pd.DataFrame, ends: np.ndarray) -> np.ndarray:
    return model.expected_purchases(ends, stats)


def _frequency_group(x: np.ndarray) -> pd.Categorical:
    labels = np.where(x >= 7, "7+", np.minimum(x, 7).astype(str))
    return pd.Categorical(labels, categories=FREQUENCY_GROUPS, ordered=True)


def _metrics(forecast: np.ndarray, actual: np.ndarray, spend_fc: np.ndarray,
             spend_actual: np.ndarray, groups: pd.Categorical) -> dict[str, float]:  # fmt: skip
    total, total_actual = float(forecast.sum()), float(actual.sum())
    corr = float(np.corrcoef(forecast, actual)[0, 1]) if forecast.std() > 0 else float("nan")
    frame = pd.DataFrame({"g": groups, "f": forecast, "a": actual})
    means = frame.groupby("g", observed=True).agg(n=("a", "size"), f=("f", "mean"), a=("a", "mean"))
    profile = float((means["n"] * (means["f"] - means["a"]).abs()).sum() / means["n"].sum())
    spend_total = float(np.nansum(spend_fc))
    spend_actual_total = float(spend_actual.sum())
    return {
        "total_forecast": total,
        "total_actual": total_actual,
        "total_error": total - total_actual,
        "total_abs_pct_error": abs(total - total_actual) / max(total_actual, 1e-12) * 100,
        "mae": float(np.abs(forecast - actual).mean()),
        "rmse": float(np.sqrt(((forecast - actual) ** 2).mean())),
        "correlation": corr,
        "profile_error": profile,
        "spend_forecast": spend_total,
        "spend_actual": spend_actual_total,
        "spend_abs_pct_error": abs(spend_total - spend_actual_total)
        / max(spend_actual_total, 1e-12) * 100,
        "spend_mae": float(np.nanmean(np.abs(spend_fc - spend_actual))),
    }  # fmt: skip


def run_backtest(
    events: pd.DataFrame,
    calibration_end: object,
    until: object,
    *,
    seed: int = 0,
    draws: int = 200,
    activity: str = "rate",
) -> BacktestResult:
    """Fit on events up to ``calibration_end``, forecast (calibration_end, until], compare.

    Parameters
    ----------
    events
        ``load_events(...).events`` (columns user_id, date, event, amount).
    calibration_end, until
        Last day of the calibration and of the holdout period (both inclusive).
    seed, draws
        For the twin's Monte-Carlo intervals.
    activity
        How the twin uses activity events (:class:`sim.twin.model.TwinModel`).
    """
    cal, end = to_day(calibration_end), to_day(until)
    horizon = end - cal
    if horizon < 1:
        raise ValueError(f"until ({until}) must be after the calibration end ({calibration_end})")
    if not events.empty:  # a holdout the data does not cover would "pass" on no events
        check_window(events["date"].min(), events["date"].max(), from_day(cal), from_day(end))
    ends = week_ends(horizon)
    stats = user_statistics(events, calibration_end, until)
    if stats.empty:
        raise ValueError(f"no user has an event on or before the calibration end {calibration_end}")
    fit = fit_twin(stats, calibration_end, activity=activity)
    fc = forecast(fit.model, fit.spend, stats, horizon, seed=seed, draws=draws)
    bgnbd, bgnbd_weekly = _bgnbd_forecasts(stats, ends)
    bgbb = TwinModel(activity="off", use_leave=False).fit(stats)
    n_days = stats["n"].to_numpy(np.float64) + 1.0
    weekly_fc = {
        "twin": _model_forecasts(fit.model, stats, ends),
        "bgnbd": bgnbd_weekly,
        "bgbb": _model_forecasts(bgbb, stats, ends),
        "naive": (stats["purchase_days"].to_numpy(np.float64) / n_days)[:, None] * ends[None, :],
    }
    per_purchase = fit.users["spend_per_purchase"].to_numpy(np.float64) * fc.users[
        "ladder_factor"
    ].to_numpy(np.float64)
    spend_rate = stats["spend"].to_numpy(np.float64) / n_days
    actual = stats["holdout_purchases"].to_numpy(np.float64)
    spend_actual = stats["holdout_spend"].to_numpy(np.float64)
    groups = _frequency_group(stats["x"].to_numpy())
    users = pd.DataFrame({"user_id": stats["user_id"], "x": stats["x"],
                          "frequency_group": groups, "actual": actual,
                          "actual_spend": spend_actual})  # fmt: skip
    metrics = {}
    for method in METHODS:
        final = weekly_fc[method][:, -1]
        spend_fc = spend_rate * horizon if method == "naive" else final * per_purchase
        users[method] = final
        users[f"{method}_spend"] = spend_fc
        metrics[method] = _metrics(final, actual, spend_fc, spend_actual, groups)
    actual_weekly, actual_spend_weekly = _actual_weekly(events, stats["user_id"], cal, ends)
    weekly = _weekly_table(ends, cal, actual_weekly, actual_spend_weekly, weekly_fc, fc)
    for method in METHODS:
        curve = weekly[method].to_numpy()
        ok = actual_weekly > 0
        metrics[method]["tracking_mape"] = float(
            np.mean(np.abs(curve[ok] - actual_weekly[ok]) / actual_weekly[ok]) * 100
        ) if ok.any() else float("nan")  # fmt: skip
    by_frequency = _by_frequency(users)
    return BacktestResult(
        calibration_end=pd.Timestamp(calibration_end).normalize(),
        until=pd.Timestamp(until).normalize(),
        horizon=horizon,
        metrics=metrics,
        verdict=_verdict(metrics),
        by_frequency=by_frequency,
        weekly=weekly,
        users=users,
        fits=_fits(fit, bgnbd, bgbb),
        coverage=_coverage(fc, actual),
        outsiders=holdout_outsiders(events, calibration_end, until),
        extra={"twin_fit": fit, "forecast": fc},
    )


def _weekly_table(ends, cal, actual, actual_spend, weekly_fc, fc: Forecast) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "week": np.arange(1, ends.size + 1),
            "day": ends,
            "date": from_day(cal + ends),
            "actual": actual,
            **{m: weekly_fc[m].sum(axis=0) for m in METHODS},
            **{f"twin_{k}": fc.weekly[f"purchases_{k}"].to_numpy() for k in QUANTILES},
            "actual_spend": actual_spend,
            "twin_spend": fc.weekly["expected_spend"].to_numpy(),
        }
    )
    return table


def _by_frequency(users: pd.DataFrame) -> pd.DataFrame:
    agg = {"users": ("actual", "size"), "actual": ("actual", "mean")}
    agg.update({m: (m, "mean") for m in METHODS})
    table = users.groupby("frequency_group", observed=False).agg(**agg).reset_index()
    table["users"] = table["users"].fillna(0).astype(np.int64)
    return table.rename(columns={"frequency_group": "repeat_purchase_days"})


def _coverage(fc: Forecast, actual: np.ndarray) -> dict[str, float]:
    u = fc.users
    out = {}
    for level in ("80", "95"):
        lo, hi = u[f"purchases_lo{level}"].to_numpy(), u[f"purchases_hi{level}"].to_numpy()
        out[f"users_in_{level}pct_interval"] = float(((actual >= lo) & (actual <= hi)).mean())
    return out


def _verdict(metrics: dict) -> dict[str, bool]:
    twin, ref, naive = metrics["twin"], metrics["bgnbd"], metrics["naive"]
    return {
        "total_at_least_as_good_as_bgnbd": abs(twin["total_error"]) <= abs(ref["total_error"]),
        "mae_at_least_as_good_as_bgnbd": twin["mae"] <= ref["mae"],
        "profile_at_least_as_good_as_bgnbd": twin["profile_error"] <= ref["profile_error"],
        "beats_naive_mae": twin["mae"] < naive["mae"],
        "beats_naive_total": abs(twin["total_error"]) < abs(naive["total_error"]),
    }


def _fits(fit: TwinFit, bgnbd: BGNBD, bgbb: TwinModel) -> dict[str, Any]:
    return {
        "twin": {"params": fit.model.params_, "se": fit.model.se_, "ci95": fit.model.ci95_,
                 "log_likelihood": fit.model.log_likelihood_,
                 "presence": fit.model.presence_, "activity": fit.model.activity_,
                 "leaves": fit.model.leaves_},
        "spend": None if fit.spend is None else {"params": fit.spend.params_, "se": fit.spend.se_},
        "bgnbd": {"params": bgnbd.params_, "se": bgnbd.se_, "time_unit": "weeks",
                  "log_likelihood": bgnbd.log_likelihood_},
        "bgbb": {"params": bgbb.params_, "se": bgbb.se_, "log_likelihood": bgbb.log_likelihood_},
    }  # fmt: skip


# --------------------------------------------------------------------------- output


def comparison_rows(result: BacktestResult, labels: dict[str, str] = LABELS) -> list[list[str]]:
    """Rows of the comparison table (method, total, error, MAE, correlation, profile, spend)."""
    rows = []
    for m in METHODS:
        r = result.metrics[m]
        rows.append([
            labels[m], f"{r['total_forecast']:,.0f}", f"{r['total_error']:+,.0f} "
            f"({r['total_abs_pct_error']:.1f}%)", f"{r['mae']:.4f}", f"{r['correlation']:.3f}",
            f"{r['profile_error']:.4f}", f"{r['tracking_mape']:.1f}%",
            f"{r['spend_forecast']:,.0f} ({r['spend_abs_pct_error']:.1f}%)",
        ])  # fmt: skip
    return rows


COMPARISON_HEADER = [
    "method", "purchases forecast", "error (abs %)", "per-user MAE", "correlation",
    "profile error", "tracking MAPE", "spend forecast (abs %)",
]  # fmt: skip


TERMINAL_HEADER = [
    "method", "purchase days forecast", "error (abs % error)", "per-user MAE (purchase days)",
    "correlation per user", "profile error", "tracking MAPE", "spend forecast ¥ (abs % error)",
]  # fmt: skip
"""COMPARISON_HEADER's measures as rows of the terminal table, with their units."""


def print_backtest(result: BacktestResult, console=None) -> None:
    """Print the comparison table with rich."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    m = result.metrics["twin"]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=(
        f"Backtest: calibration to {result.calibration_end:%Y-%m-%d}, holdout "
        f"{result.horizon} days to {result.until:%Y-%m-%d} — actual {m['total_actual']:,.0f} "
        f"purchase days, spend ¥{m['spend_actual']:,.0f}"))  # fmt: skip
    # one column per method, one row per measure: fits 80 columns
    table.add_column("measure", overflow="fold")
    for method in METHODS:
        table.add_column(SHORT[method], justify="right", overflow="fold")
    rows = comparison_rows(result, SHORT)
    for i, header in enumerate(TERMINAL_HEADER[1:], start=1):
        table.add_row(header, *(row[i] for row in rows))
    console.print(table)
    verdict = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in result.verdict.items())
    console.print(verdict)


def _json_metrics(result: BacktestResult) -> dict[str, Any]:
    return strict_json({
        "calibration_end": f"{result.calibration_end:%Y-%m-%d}",
        "until": f"{result.until:%Y-%m-%d}",
        "horizon_days": result.horizon,
        "metrics": result.metrics,
        "verdict": result.verdict,
        "coverage": result.coverage,
        "by_frequency": result.by_frequency.astype({"repeat_purchase_days": str}).to_dict(
            orient="list"),
        "fits": result.fits,
        "users_first_seen_in_holdout": result.outsiders,
        "labels": LABELS,
    })  # fmt: skip


def report_markdown(result: BacktestResult) -> str:
    """The Markdown report of a backtest."""
    m = result.metrics["twin"]
    lines = [
        "# Backtest report", "",
        f"Calibration up to **{result.calibration_end:%Y-%m-%d}**, holdout "
        f"({result.calibration_end:%Y-%m-%d}, {result.until:%Y-%m-%d}] = {result.horizon} days. "
        f"Users in the calibration population: {len(result.users):,}; actual holdout purchase "
        f"days {m['total_actual']:,.0f}, spend {m['spend_actual']:,.2f}. Users first seen in the "
        f"holdout (forecast by no model, not counted): {result.outsiders['users']:,} with "
        f"{result.outsiders['purchase_days']:,} purchase days.", "",
        "## Accuracy", "",
        "| " + " | ".join(COMPARISON_HEADER) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(COMPARISON_HEADER) - 1)) + " |",
        *["| " + " | ".join(r) + " |" for r in comparison_rows(result)], "",
        "Verdict (the twin against BG/NBD and the naive forecast):", "",
        *[f"- {k.replace('_', ' ')}: **{'yes' if v else 'no'}**"
          for k, v in result.verdict.items()],  # fmt: skip
        "",
        f"Twin per-user intervals: {result.coverage['users_in_80pct_interval']:.1%} of users' "
        f"actual counts inside their 80% interval, {result.coverage['users_in_95pct_interval']:.1%}"
        " inside the 95% one (counts are whole numbers, so intervals cover at least their level).",
        "", "## Mean holdout purchase days by calibration repeat purchase days", "",
        "| x | users | actual | " + " | ".join(LABELS[m] for m in METHODS) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in METHODS) + " |",
    ]  # fmt: skip
    for _, r in result.by_frequency.iterrows():
        vals = " | ".join(f"{r[m]:.3f}" for m in METHODS)
        lines.append(f"| {r['repeat_purchase_days']} | {int(r['users']):,} | {r['actual']:.3f} | "
                     f"{vals} |")  # fmt: skip
    lines += ["", "Plots: `plots/tracking.png` (weekly cumulative purchase days, actual vs "
              "forecasts, twin 80%/95% band), `plots/by_frequency.png`.", ""]  # fmt: skip
    return "\n".join(lines)


def plot_tracking(result: BacktestResult, path: Path) -> Path:

    w = result.weekly
    fig, (ax,) = new_figure(figsize=(9.0, 5.0))
    x = w["date"]
    ax.fill_between(x, w["twin_lo95"], w["twin_hi95"], color=COLOURS["twin"], alpha=0.12,
                    label="twin 95%")  # fmt: skip
    ax.fill_between(x, w["twin_lo80"], w["twin_hi80"], color=COLOURS["twin"], alpha=0.25,
                    label="twin 80%")  # fmt: skip
    ax.plot(x, w["actual"], color=COLOURS["actual"], lw=2.2, label="actual")
    for m in METHODS:
        ax.plot(x, w[m], color=COLOURS[m], lw=1.5, ls="-" if m == "twin" else "--",
                label=LABELS[m])  # fmt: skip
    ax.set_ylabel("cumulative purchase days since the calibration end")
    ax.set_title("Weekly cumulative tracking: actual vs forecast")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return save_figure(fig, path)


def plot_by_frequency(result: BacktestResult, path: Path) -> Path:

    t = result.by_frequency
    fig, (ax,) = new_figure(figsize=(8.0, 4.5))
    pos = np.arange(len(t))
    ax.bar(pos, t["actual"], color="0.8", label="actual")
    for m in METHODS:
        ax.plot(pos, t[m], marker="o", color=COLOURS[m], label=LABELS[m])
    ax.set_xticks(pos, t["repeat_purchase_days"].astype(str))
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel("mean purchase days in the holdout")
    ax.set_title("Conditional expectations by calibration frequency")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def write_backtest(
    result: BacktestResult, out_dir: Path | str, *, inputs: dict | None = None,
    options: dict | None = None, overwrite: bool = False,
) -> Path:  # fmt: skip
    """Write backtest.json, report.md, users/weekly/by_frequency tables and the plots."""
    meta = {**_json_metrics(result), "inputs": inputs or {}, "options": options or {}}
    tables = {
        "users": result.users.astype({"frequency_group": str}),
        "weekly": result.weekly,
        "by_frequency": result.by_frequency.astype({"repeat_purchase_days": str}),
    }
    return write_folder(
        out_dir, meta_name=BACKTEST_JSON, fmt=BACKTEST_FORMAT, meta=meta, tables=tables,
        texts={"report.md": report_markdown(result)},
        plots=lambda d: [plot_tracking(result, d / "tracking.png"),
                         plot_by_frequency(result, d / "by_frequency.png")],
        overwrite=overwrite,
    )  # fmt: skip
