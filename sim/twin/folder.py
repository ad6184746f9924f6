"""Twin folders (and backtest folders): written atomically, recognised, read back.

A twin folder holds::

    TWIN_DIR/
        twin.json        written last: calibration end, fitted parameters with SEs and 95%
                         intervals, data summary, input files with their sha256, file list
        users.parquet    one row per real user: statistics, posterior, uid (the simulator's id)
        attributes.parquet  (when a users table was given) the known attributes per user
        fit_report.md    the fit in words and tables
        plots/frequency_fit.png  observed vs model-expected purchase-day counts

As with run folders (both use :mod:`sim.io.folders`) everything is written to
a hidden sibling and renamed into place; the main JSON file ends with ``"complete": true`` and
lists every file with its size and sha256, so a half-written folder is never taken for a twin.
An existing folder is replaced only with ``overwrite`` and only if it is a folder of the same
kind; anything else is refused. A backtest folder has the same layout with ``backtest.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.errors import OutputRefused, TwinFolderError
from sim.io.atomic import PLOTS_DIR, strict_json, to_json, write_table
from sim.io.figures import new_figure, save_figure
from sim.io.folders import (
    OURS,
    finish_folder,
    folder_state,
    publish_folder,
    read_json_object,
    write_folder_atomically,
)
from sim.io.ownership import FOLDER, claim_output
from sim.provenance import code_revision, package_versions
from sim.twin.choice import MIN_GAIN, MIN_GROUP_PURCHASES, MIN_GROUP_USERS
from sim.twin.fit import TwinFit
from sim.twin.identity import TWIN_FORMAT, TWIN_JSON, check_twin_folder
from sim.twin.model import ALL_PARAMS, SPEND_PARAMS, GammaGamma
from sim.twin.processes import process_from_json

BACKTEST_JSON = "backtest.json"
BACKTEST_FORMAT = "siyu-twin-backtest/1"
UID_MASK = (1 << 63) - 1

PARAM_MEANINGS = {
    "alpha": "daily purchase probability while buying, p ~ Beta(α, β): α",
    "beta": "p ~ Beta(α, β): β",
    "gamma": "daily chance of stopping buying for good, ω ~ Beta(γ, δ): γ",
    "delta": "ω ~ Beta(γ, δ): δ",
    "kappa": "daily chance of leaving the private domain, θ ~ Beta(κ, λ): κ",
    "lambda": "θ ~ Beta(κ, λ): λ",
    "epsilon": "chance of being seen on a present day without a purchase, s ~ Beta(ε, ζ): ε",
    "zeta": "s ~ Beta(ε, ζ): ζ",
    "rho": "share of leaves recorded in the log",
    "p": "spend per purchase day ~ Gamma(p, ν): shape p",
    "q": "ν ~ Gamma(q, v): shape q",
    "v": "ν ~ Gamma(q, v): rate v",
}
WEEKLY_MEANINGS = {
    "r": "weekly purchase rate while alive, λ ~ Gamma(r, α): shape r",
    "alpha": "λ ~ Gamma(r, α): rate α (weeks)",
    "a": "dropout chance after each purchase, p ~ Beta(a, b): a",
    "b": "p ~ Beta(a, b): b",
    "s": "dropout rate μ ~ Gamma(s, β): shape s",
    "beta": "μ ~ Gamma(s, β): rate β (weeks)",
    "k": "regularity: inter-purchase times Erlang-k (1 = Poisson)",
}


# --------------------------------------------------------------------------- generic folders


def _state(out_dir: Path, meta_name: str, fmt: str) -> str:
    """:func:`~sim.io.folders.folder_state` of ``out_dir`` (ours: ``meta_name`` says ``fmt``)."""

    def is_ours(path: Path) -> bool:
        meta = read_json_object(path / meta_name)
        return meta is not None and meta.get("format") == fmt

    return folder_state(out_dir, is_ours)


def check_writable(
    out_dir: Path | str, meta_name: str, fmt: str, overwrite: bool,
    inputs: Iterable[Path | str | None] = (),
) -> None:  # fmt: skip
    """Raise :class:`TwinFolderError` if ``out_dir`` could not be (re)placed: the rule of
    :func:`sim.io.ownership.claim_output` (never an input, a foreign folder, or an earlier
    folder without ``overwrite``; stale temp folders of crashed writes are cleaned)."""
    out_dir = Path(out_dir)
    what = "twin" if meta_name == TWIN_JSON else "backtest"
    try:
        claim_output(out_dir, inputs=inputs, overwrite=overwrite, kind=FOLDER,
                     is_ours=lambda p: _state(p, meta_name, fmt) == OURS,
                     what=f"siyu {what} folder")  # fmt: skip
    except OutputRefused as exc:
        raise TwinFolderError(str(exc)) from exc


def write_folder(
    out_dir: Path | str,
    *,
    meta_name: str,
    fmt: str,
    meta: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame] | None = None,
    texts: Mapping[str, str] | None = None,
    plots: Callable[[Path], list[Path]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a folder atomically: tables as Parquet, text files, plots, and ``meta_name`` last
    (with ``format``, ``files`` and ``complete``). Returns the folder's path."""
    out_dir = Path(out_dir).absolute()
    check_writable(out_dir, meta_name, fmt, overwrite)
    to_json(meta)  # not serialisable: fail before writing anything

    def fill(tmp: Path) -> None:
        for name, frame in (tables or {}).items():
            write_table(frame, tmp / f"{name}.parquet")
        for name, text in (texts or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if plots is not None:
            (tmp / PLOTS_DIR).mkdir()
            plots(tmp / PLOTS_DIR)
        finish_folder(tmp, meta_name, {**meta, "format": fmt})

    def publish(tmp: Path) -> None:
        check_writable(out_dir, meta_name, fmt, overwrite)  # again: something may have appeared
        publish_folder(
            tmp, out_dir, _state(out_dir, meta_name, fmt),
            lambda: TwinFolderError(f"{out_dir} appeared while it was being written"),
        )  # fmt: skip

    return write_folder_atomically(out_dir, fill, publish)


# --------------------------------------------------------------------------- twin folders


def uids_of_user_ids(user_ids: pd.Series | np.ndarray) -> np.ndarray:
    """The simulator uid of each real user: a 63-bit BLAKE2b hash of its user_id (UTF-8), so
    the same id always gets the same uid. Raises if two ids collide."""
    ids = pd.Series(user_ids, dtype="string").to_numpy(dtype=object)
    uids = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(str(u).encode(), digest_size=8).digest(), "little")
            & UID_MASK
            for u in ids
        ),
        dtype=np.uint64,
        count=len(ids),
    )
    if np.unique(uids).size != uids.size:
        raise TwinFolderError("two user ids hash to the same simulator uid; rename one of them")
    return uids


def _model_json(fit: TwinFit) -> dict[str, Any]:
    out = fit.model.to_json()
    out.setdefault("n_users", int(len(fit.users)))
    return out


def _spend_json(spend: GammaGamma | None) -> dict[str, Any] | None:
    if spend is None:
        return None
    return {
        "name": "Gamma-Gamma spend per purchase day",
        "params": spend.params_,
        "se": spend.se_,
        "ci95": spend.ci95_,
        "cov_log": spend.cov_log_.tolist(),
        "population_mean": spend.population_mean_,
        "fallback_to_observed_means": spend.fallback_,
        "constrained_mean": spend.constrained_,
        "warnings": list(spend.warnings_),
        "log_likelihood": spend.log_likelihood_,
        "n_users": spend.n_users_,
        "population": spend.population_summary(),
        "price_ladder": spend.ladder_,
    }


def write_twin(
    fit: TwinFit,
    out_dir: Path | str,
    *,
    data: Mapping[str, Any],
    inputs: Mapping[str, Any],
    options: Mapping[str, Any],
    attributes: pd.DataFrame | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted twin folder (see the module docstring)."""

    users = fit.users.copy()
    users.insert(1, "uid", uids_of_user_ids(users["user_id"]).astype(np.int64))
    meta = strict_json(
        {
            "calibration_end": fit.calibration_end.strftime("%Y-%m-%d"),
            "model": _model_json(fit),
            "choice": None if fit.choice is None else fit.choice.to_json(),
            "warnings": fit.warnings,
            "spend": _spend_json(fit.spend),
            "frequency_fit": fit.frequency.to_dict(orient="list"),
            "data": dict(data),
            "inputs": dict(inputs),
            "options": dict(options),
            "versions": package_versions(),
            "code": code_revision(),
        }
    )
    tables = {"users": users}
    if attributes is not None:
        tables["attributes"] = attributes
    return write_folder(
        out_dir, meta_name=TWIN_JSON, fmt=TWIN_FORMAT, meta=meta, tables=tables,
        texts={"fit_report.md": fit_report(fit, meta)},
        plots=lambda d: [plot_frequency_fit(fit.frequency, d / "frequency_fit.png")],
        overwrite=overwrite,
    )  # fmt: skip


@dataclass
class Twin:
    """A twin folder read back: metadata, the per-user table and the fitted models."""

    path: Path
    meta: dict
    users: pd.DataFrame
    model: Any  # a fitted process of sim.twin.processes
    spend: GammaGamma | None
    attributes: pd.DataFrame | None

    @property
    def calibration_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.meta["calibration_end"])


def load_twin(path: Path | str) -> Twin:
    """Open a complete twin folder whose files all have the sha256 twin.json recorded;
    :class:`TwinFolderError` says what is wrong (naming a changed file) otherwise."""
    path = Path(path)
    check_twin_folder(path, verify=True)
    meta = read_json_object(path / TWIN_JSON)
    assert meta is not None
    model = process_from_json(meta["model"])
    spend = None
    if meta.get("spend"):
        s = meta["spend"]
        cov_s = np.array([[np.nan if v is None else v for v in row] for row in s["cov_log"]])
        spend = GammaGamma.from_params(s["params"], s["population_mean"], cov_s)
        spend.set_ladder(s.get("price_ladder"))
    users = pq.read_table(path / "users.parquet").to_pandas()
    attributes = None
    if (path / "attributes.parquet").is_file():
        attributes = pq.read_table(path / "attributes.parquet").to_pandas()
    return Twin(path, meta, users, model, spend, attributes)


# --------------------------------------------------------------------------- the fit report


def _fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:,.4g}"
    return f"{value:.3e}"


def _param_rows(params: dict, se: dict, ci: dict, names, meanings=PARAM_MEANINGS) -> list[str]:
    rows = [
        "| parameter | meaning | estimate | SE | 95% interval |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for k in names:
        if k in params:
            lo, hi = ci.get(k, [None, None])
            rows.append(
                f"| {k} | {meanings[k]} | {_fmt(params[k])} | {_fmt(se.get(k))} | "
                f"[{_fmt(lo)}, {_fmt(hi)}] |"
            )
    return rows


_MEANS = {
    "mean_p": "mean daily purchase probability while buying E[p]",
    "mean_stop_buying": "mean daily chance of stopping buying E[ω]",
    "mean_leave": "mean daily chance of leaving the private domain E[θ]",
    "mean_seen": "mean chance of being seen on a present day without a purchase E[s]",
}


def _population_lines(pop: dict) -> list[str]:
    lines = []
    for key, text in _MEANS.items():
        if key in pop:
            est, (lo, hi) = pop[key]["estimate"], pop[key]["ci95"]
            lines.append(f"- {text} = {_fmt(est)} (95% CI {_fmt(lo)} – {_fmt(hi)})")
    return lines


def _posterior_profile(users: pd.DataFrame, calibration_end: pd.Timestamp) -> list[str]:
    silent = (calibration_end - pd.to_datetime(users["last_seen"])).dt.days
    band = pd.cut(silent, [-1, 30, 90, np.inf], labels=["≤ 30 days", "31–90 days", "> 90 days"])
    freq = np.minimum(users["x"], 7).map(lambda v: "7+" if v >= 7 else str(v))
    frame = pd.DataFrame(
        {"x": freq, "silence": band, "present": users["p_present"],
         "buying": users["p_buying"], "p": users["p_mean"]}
    )  # fmt: skip
    table = frame.groupby(["x", "silence"], observed=True).agg(
        users=("p", "size"), present=("present", "mean"), buying=("buying", "mean"),
        p=("p", "mean"),
    )  # fmt: skip
    rows = [
        "| repeat purchase days x | last seen | users | mean P(present) | "
        "mean P(present and buying) | mean E[p | buying] |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for (x, silence), r in table.iterrows():
        rows.append(
            f"| {x} | {silence} | {int(r['users']):,} | {r['present']:.3f} | "
            f"{r['buying']:.3f} | {r['p']:.4f} |"
        )
    return rows


def _data_lines(data: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, bool) or value is None:
            shown = str(value)
        elif isinstance(value, int):
            shown = f"{value:,}"
        elif isinstance(value, float):
            shown = f"{value:,.2f}"
        else:
            shown = str(value)
        lines.append(f"- {key.replace('_', ' ')}: {shown}")
    for key, info in inputs.items():
        if info:
            lines.append(
                f"- input `{key}`: `{info['path']}` (sha256 `{info['sha256'][:16]}…`, "
                f"{info['size']:,} bytes)"
            )
    return lines


def _spend_lines(s: Mapping[str, Any] | None) -> list[str]:
    if s is None:
        return [
            "Not fitted: fewer than three users with repeat purchases and a positive amount. "
            "Forecasts carry no spend."
        ]
    lines = _param_rows(s["params"], s["se"], s["ci95"], SPEND_PARAMS)
    lines += [
        "",
        f"- model mean spend per purchase day p·v/(q−1): "
        f"{_fmt(s['population']['mean_spend_per_purchase_day'])}; observed mean over repeat "
        f"buyers of their mean spend per purchase day: "
        f"{_fmt(s['population'].get('observed_mean'))} (weighted by purchase days: "
        f"{_fmt(s['population_mean'])})",
        *[f"- **warning:** {w}" for w in s.get("warnings", [])],
    ]
    if s["fallback_to_observed_means"]:
        lines.append(
            "- q ≤ 1 (infinite model mean): expected spend uses each user's own mean "
            "(the population mean for users without repeat purchases)."
        )
    ladder = s.get("price_ladder")
    if ladder:
        starts, levels, days = ladder["starts"], ladder["levels"], ladder["days"]
        ends = [*(s - 1 for s in starts[1:]), None]
        steps = ", ".join(
            f"{_orders_label(first, last)}: {_fmt(level)} ({n:,} days)"
            for first, last, level, n in zip(starts, ends, levels, days, strict=True)
        )
        lines.append(
            f"- price ladder (mean spend of a user's k-th purchase day): {steps}; a user's "
            "forecast purchases are priced at their step relative to the level its own mean "
            f"reflects (reference {_fmt(ladder['reference_level'])}; docs/TWIN.md §5)"
        )
    else:
        lines.append("- price ladder: flat (spend does not depend on the purchase's order)")
    return lines


def _orders_label(first: int, last: int | None) -> str:
    if last is None:
        return f"≥{first}"
    return str(first) if last == first else f"{first}–{last}"


def _choice_lines(choice: Mapping[str, Any] | None) -> list[str]:
    if not choice:
        return ["Not chosen: fitted without the event log (the daily twin by default)."]
    sample = f" (a hash-sample of {choice['users']:,} users)" if choice["sampled"] else ""
    lines = [
        f"Candidates fitted to the events up to **{choice['split_day']}** and scored on their "
        f"forecast of the last {choice['validation_days']} days of the calibration period"
        f"{sample} — calibration data only. Score = per-user mean squared error (lower is better). "
        "BG/NBD is the reference: another process is chosen only if its score is lower by "
        "more than 2 standard errors of the paired per-user difference and by at least "
        f"{MIN_GAIN:.0%}, **and** it forecasts "
        "within ±30% every frequency group x = 0–6 that BG/NBD forecasts within ±30% (groups "
        f"with at least {MIN_GROUP_USERS} users and {MIN_GROUP_PURCHASES} purchase days in the "
        "validation window); otherwise the next-best candidate is considered, else BG/NBD kept.",
        "",
        "| process | score (MSE) | per-user MAE | total error | correlation | profile error "
        "| groups x=0–6 within ±30% | error by group x (judged groups) | log-likelihood (split) "
        "| note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for c in choice["candidates"]:
        chosen = " **(chosen)**" if c["process"] == choice["chosen"] else ""
        lines.append(
            f"| {c['label']}{chosen} | {_fmt(c.get('score'))} | {_fmt(c.get('mae'))} | "
            f"{_signed(c.get('total_error_pct'))} | {_fmt(c.get('correlation'))} | "
            f"{_fmt(c.get('profile_error'))} | "
            f"{_fmt(c.get('groups_within_30pct'))} | {_group_cell(c.get('group_error_pct'))} | "
            f"{_fmt(c.get('log_likelihood'))} | "
            f"{c.get('note') or ''} |"
        )
    return [*lines, "", f"Chosen: **{choice['chosen']}** — {choice['reason']}."]


def _group_cell(errors: Mapping[str, float] | None) -> str:
    if not errors:
        return "none judged"
    return ", ".join(f"{g}: {_signed(e)}" for g, e in errors.items())


def _signed(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:+.1f}%"


def _warning_lines(warnings: list[str]) -> list[str]:
    return ["", *[f"- **warning:** {w}" for w in warnings]] if warnings else []


def _process_lines(m: Mapping[str, Any]) -> list[str]:
    head = (
        f"Model: {m['name']} (docs/TWIN.md). Log-likelihood {_fmt(m['log_likelihood'])} over "
        f"{m['n_users']:,} users; converged: {m['converged']}; a parameter at its search "
        f"bound: {m['at_bound']}."
    )
    if m.get("time_unit") == "weeks":
        names = [k for k in WEEKLY_MEANINGS if k in m["params"]]
        ci = m.get("ci95", {})
        return [head, "", *_param_rows(m["params"], m["se"], ci, names, WEEKLY_MEANINGS)]
    return [
        f"{head} Leaving modelled: **{m['presence']}**; activity used: **{m['activity']}**; "
        f"recorded leaves used: **{m['leaves']}**; {m['n_patterns']:,} distinct histories.",
        "",
        *_param_rows(m["params"], m["se"], m["ci95"], ALL_PARAMS),
        "",
        *_population_lines(m["population"]),
    ]


def fit_report(fit: TwinFit, meta: Mapping[str, Any]) -> str:
    """The Markdown fit report of a twin."""
    m = meta["model"]
    lines = [
        "# Twin fit report",
        "",
        f"Calibration end: **{meta['calibration_end']}** (only events up to and including this "
        "day were used).",
        "",
        "## Data",
        "",
        *_data_lines(meta["data"], meta["inputs"]),
        "",
        "## The process chosen",
        "",
        *_choice_lines(meta.get("choice")),
        *_warning_lines([w for w in meta.get("warnings", []) if not w.startswith("spend")]),
        "",
        "## Purchases and dropout",
        "",
        *_process_lines(m),
        "",
        "## Spend per purchase day",
        "",
        *_spend_lines(meta.get("spend")),
        "",
        "## Check: purchase-day counts in the calibration period",
        "",
        "Observed users by repeat purchase days x, against the number the fitted model expects "
        "given each user's observed days (plots/frequency_fit.png).",
        "",
        "| x | observed users | model-expected users |",
        "| --- | ---: | ---: |",
    ]
    for _, r in fit.frequency.iterrows():
        lines.append(f"| {r['x']} | {int(r['observed_users']):,} | {r['expected_users']:,.1f} |")
    lines += [
        "",
        "## Each user's state",
        "",
        "Mean posterior by repeat purchase days and days since last seen at the calibration end "
        "(a user who bought often and recently is not one who bought once long ago):",
        "",
        *_posterior_profile(fit.users, fit.calibration_end),
        "",
    ]
    return "\n".join(lines)


def plot_frequency_fit(frequency: pd.DataFrame, path: Path) -> Path:
    """Bars of observed vs model-expected users by repeat purchase days."""

    fig, (ax,) = new_figure(figsize=(8.0, 4.5))
    pos = np.arange(len(frequency))
    ax.bar(pos - 0.2, frequency["observed_users"], width=0.4, label="observed", color="#4c72b0")
    ax.bar(pos + 0.2, frequency["expected_users"], width=0.4, label="model", color="#dd8452")
    ax.set_xticks(pos, frequency["x"])
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel("users")
    ax.set_title("Calibration period: observed vs model-expected purchase-day counts")
    ax.legend()
    return save_figure(fig, path)
