"""``siyu twin …``: fit a twin to a real event log, forecast from it, backtest it, retention.

    siyu twin fit --events FILE [--users FILE] --calibration-end DATE --out TWIN_DIR
                  [--merge-same-day] [--quarantine FILE] [--map our=theirs ...]
                  [--activity rate|bound|off] [--overwrite]
    siyu twin forecast TWIN_DIR --until DATE --out FILE [--seed N] [--draws N] [--overwrite]
    siyu twin backtest --events FILE --calibration-end DATE --until DATE --out DIR
                  [--merge-same-day] [--quarantine FILE] [--map our=theirs ...]
                  [--activity rate|bound|off] [--seed N] [--draws N] [--overwrite]
    siyu twin retention TABLE.csv --fit-through K --project-to M [--out FILE] [--overwrite]
    siyu twin sample-log CONFIG --out FILE [--start-date DATE] [--users N] [--days N]
                  [--seed N] [--overwrite]

The flags live in :mod:`sim.cli.parsers` (``add_twin``); :func:`run` is the handler and returns
0 on success. Failures (input that cannot be used: files, dates, flags, destination) are raised
and become one clear message with exit status 2 in the command line's error boundary — nothing
is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sim.cli.failures import EXIT_USER_ERROR as EXIT_USER_ERROR  # re-exported
from sim.cli.progress import working
from sim.config import load_config
from sim.engine.policy import build_strategies
from sim.errors import ConfigError
from sim.io.atomic import file_digest
from sim.io.outputs import check_new_files, check_table_path, write_frame
from sim.io.ownership import FILE, claim_output
from sim.runs.sample_log import simulate_event_log
from sim.twin.backtest import choice_lines, print_backtest, run_backtest, write_backtest
from sim.twin.dates import DateError, check_window, parse_day
from sim.twin.events import load_events, load_users
from sim.twin.fit import fit_twin
from sim.twin.folder import (
    BACKTEST_FORMAT,
    BACKTEST_JSON,
    TWIN_FORMAT,
    TWIN_JSON,
    check_writable,
    load_twin,
    write_twin,
)
from sim.twin.forecast import CSV_OPTIONS, check_output, forecast, write_forecast
from sim.twin.retention import run_retention
from sim.twin.rfm import user_statistics


class TwinInputError(ConfigError):
    """A flag value that cannot be used (a date, a mapping)."""


# --------------------------------------------------------------------------- helpers


def parse_date(text: str, flag: str) -> pd.Timestamp:
    """A calendar day from a flag value, ISO 8601 only (:func:`sim.twin.dates.parse_day`, the
    parser of the event files too); :class:`TwinInputError` naming the flag otherwise."""
    try:
        return parse_day(text, flag)
    except DateError as exc:
        raise TwinInputError(str(exc)) from None


def check_data_covers(log, calibration_end: pd.Timestamp, until: pd.Timestamp | None = None):
    """TwinInputError unless the event log's span covers the calibration end (and ``until``)."""
    dates = log.events["date"]
    if dates.empty:
        raise TwinInputError(f"{log.source}: no valid event to fit on")
    try:
        check_window(dates.min(), dates.max(), calibration_end, until, source=log.source)
    except DateError as exc:
        raise TwinInputError(str(exc)) from None


def parse_mapping(pairs: list[str]) -> dict[str, str] | None:
    """``["user_id=customer", …]`` → ``{"user_id": "customer", …}`` (None if empty)."""
    out = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise TwinInputError(
                f"--map: expected OURS=THEIRS such as user_id=customer, got {pair!r}"
            )
        out[ours.strip()] = theirs.strip()
    return out or None


def _check_draws(draws: int) -> None:
    if draws < 20:
        raise TwinInputError(f"--draws: at least 20 are needed for 95% intervals, got {draws}")


def _claim_quarantine(args: argparse.Namespace) -> None:
    """The quarantine file is an output like any other: never an input, never an existing file
    without ``--overwrite`` (:func:`sim.io.ownership.claim_output`)."""
    if args.quarantine is not None:
        inputs = [args.events, getattr(args, "users", None), args.out]
        claim_output(args.quarantine, inputs=inputs, overwrite=args.overwrite, kind=FILE,
                     flag="--quarantine")  # fmt: skip


def _load(args: argparse.Namespace):

    quarantine = args.quarantine
    return load_events(
        args.events,
        columns=parse_mapping(args.map),
        merge_same_day_purchases=args.merge_same_day,
        on_error="quarantine" if quarantine is not None else "stop",
        quarantine_path=quarantine,
    )


def _quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def _console():
    from rich.console import Console

    return Console(highlight=False)


def data_summary(log, calibration_end: pd.Timestamp, stats: pd.DataFrame) -> dict:
    """Counts for twin.json and the fit report: what was read, used, left out."""
    ev = log.events
    used = ev["date"] <= calibration_end
    buys = used & (ev["event"] == "purchase")
    counts = ev.loc[used, "event"].value_counts()
    return {
        "rows_read": int(log.rows_read),
        "rows_quarantined": int(log.rows_quarantined),
        "purchases_merged_same_day": int(log.merged_purchases),
        "events_used": int(used.sum()),
        "events_after_calibration_end_not_used": int((~used).sum()),
        "first_event": str(ev["date"].min().date()) if len(ev) else None,
        "last_event_used": str(ev.loc[used, "date"].max().date()) if used.any() else None,
        "users": int(len(stats)),
        "buyers": int((stats["purchases"] > 0).sum()),
        "purchases": int(buys.sum()),
        "spend": float(np.nansum(ev.loc[buys, "amount"].to_numpy())),
        "users_with_repeat_purchase_days": int((stats["x"] > 0).sum()),
        "recorded_leaves": int((stats["dead_at"] >= 0).sum()),
        "events_by_type": {str(k): int(v) for k, v in counts.items()},
    }


# --------------------------------------------------------------------------- commands


def cmd_fit(args: argparse.Namespace) -> int:

    cal = parse_date(args.calibration_end, "--calibration-end")
    inputs = [args.events, args.users, args.quarantine]
    check_writable(args.out, TWIN_JSON, TWIN_FORMAT, args.overwrite, inputs)
    _claim_quarantine(args)
    with working(f"reading {args.events}", _quiet(args)):
        log = _load(args)
        check_data_covers(log, cal)
        stats = user_statistics(log.events, cal)
    if stats.empty:
        raise TwinInputError(
            f"{args.events}: no event on or before the calibration end {cal.date()}"
        )
    with working(f"choosing the process and fitting the twin to {len(stats):,} users",
                 _quiet(args)):  # fmt: skip
        fit = fit_twin(stats, cal, activity=args.activity, events=log.events)
    data = data_summary(log, cal, stats)
    attributes = None
    inputs = {"events": file_digest(args.events), "users": None}
    if args.users is not None:
        attributes, data["users_table"] = _attributes(args.users, args.users_id_column, stats)
        inputs["users"] = file_digest(args.users)
    options = {"merge_same_day": args.merge_same_day, "columns": parse_mapping(args.map),
               "quarantine": None if args.quarantine is None else str(args.quarantine),
               "activity": args.activity}  # fmt: skip
    path = write_twin(fit, args.out, data=data, inputs=inputs, options=options,
                      attributes=attributes, overwrite=args.overwrite)  # fmt: skip
    _print_fit(fit, data, path)
    return 0


def _attributes(path: Path, id_column: str, stats: pd.DataFrame):

    table = load_users(path, id_column=id_column)
    inside = table["user_id"].isin(stats["user_id"])
    summary = {"rows": int(len(table)), "rows_without_events_not_in_twin": int((~inside).sum()),
               "columns": [c for c in table.columns if c != "user_id"]}  # fmt: skip
    return table[inside].sort_values("user_id").reset_index(drop=True), summary


def _print_fit(fit, data: dict, path: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = _console()
    m = fit.model
    table = Table("parameter", "estimate", "SE", "95% interval",
                  title=f"Twin fit: {data['users']:,} users, calibration end "
                  f"{fit.calibration_end.date()}, process {m.name}")  # fmt: skip
    rows = [(k, v, m.se_.get(k, float("nan")), m.ci95_.get(k, (float("nan"),) * 2))
            for k, v in m.params_.items()]  # fmt: skip
    if fit.spend is not None:
        rows += [(f"spend {k}", v, fit.spend.se_[k], fit.spend.ci95_[k])
                 for k, v in fit.spend.params_.items()]  # fmt: skip
    for name, est, se, (lo, hi) in rows:
        table.add_row(name, f"{est:.4g}", f"{se:.3g}", escape(f"[{lo:.4g}, {hi:.4g}]"))
    out.print(table)
    if fit.spend is not None:
        pop = fit.spend.population_summary()
        out.print(f"spend per purchase day: model mean {pop['mean_spend_per_purchase_day']:,.2f}, "
                  f"observed mean of repeat buyers {pop['observed_mean']:,.2f}")  # fmt: skip
    for line in choice_lines(None if fit.choice is None else fit.choice.to_json()):
        out.print(escape(line))
    for warning in fit.warnings:
        out.print(f"[bold]warning:[/bold] {escape(warning)}")
    if data["rows_quarantined"]:
        out.print(f"{data['rows_quarantined']:,} malformed rows were quarantined")
    out.print(f"twin folder: [bold]{path}[/bold] (fit_report.md)")


def cmd_forecast(args: argparse.Namespace) -> int:

    _check_draws(args.draws)
    twin = load_twin(args.twin_dir)
    until = parse_date(args.until, "--until")
    horizon = int((until - twin.calibration_end).days)
    if horizon < 1:
        raise TwinInputError(
            f"--until {until.date()} must be after the twin's calibration end "
            f"{twin.calibration_end.date()}"
        )
    check_output(args.out, args.overwrite, inputs=[args.twin_dir])
    with working(f"forecasting {horizon} days ({args.draws} draws)", _quiet(args)):
        fc = forecast(twin.model, twin.spend, twin.users, horizon, seed=args.seed,
                      draws=args.draws)  # fmt: skip
    users_path, weekly_path = write_forecast(fc, args.out, twin.calibration_end, args.overwrite)
    last = fc.weekly.iloc[-1]
    _console().print(
        f"{len(fc.users):,} users, {horizon} days to {until.date()}: expected purchase days "
        f"{last['expected_purchases']:,.1f} (95% {last['purchases_lo95']:,.0f}–"
        f"{last['purchases_hi95']:,.0f}), spend {last['expected_spend']:,.0f}\n"
        f"per user: [bold]{users_path}[/bold]\nweekly: [bold]{weekly_path}[/bold]"
    )
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:

    _check_draws(args.draws)
    cal = parse_date(args.calibration_end, "--calibration-end")
    until = parse_date(args.until, "--until")
    if until <= cal:
        raise TwinInputError(f"--until {until.date()} must be after --calibration-end {cal.date()}")
    inputs = [args.events, args.quarantine]
    check_writable(args.out, BACKTEST_JSON, BACKTEST_FORMAT, args.overwrite, inputs)
    _claim_quarantine(args)
    with working(f"reading {args.events}", _quiet(args)):
        log = _load(args)
        check_data_covers(log, cal, until)
    with working("backtest: fitting four models, forecasting the holdout", _quiet(args)):
        result = run_backtest(log.events, cal, until, seed=args.seed, draws=args.draws,
                              activity=args.activity)  # fmt: skip
    options = {"merge_same_day": args.merge_same_day, "columns": parse_mapping(args.map),
               "seed": args.seed, "draws": args.draws, "activity": args.activity}  # fmt: skip
    path = write_backtest(result, args.out, inputs={"events": file_digest(args.events)},
                          options=options, overwrite=args.overwrite)  # fmt: skip
    print_backtest(result, _console())
    _console().print(f"backtest folder: [bold]{path}[/bold] (report.md)")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from rich.table import Table

    table = run_retention(args.table, args.fit_through, args.project_to, args.out,
                          overwrite=args.overwrite)  # fmt: skip
    summary = table.attrs.get("summary", {})
    out = _console()
    shown = Table("period", "actual", "sBG", "twin (BdW)",
                  title=f"Survivors of {args.table}: fitted to period {args.fit_through}, "
                  f"projected to {args.project_to}")  # fmt: skip
    for _, r in table.iterrows():
        actual = "" if pd.isna(r["actual"]) else f"{r['actual']:,.0f}"
        style = "bold" if r["period"] > args.fit_through else None
        shown.add_row(str(int(r["period"])), actual, f"{r['sbg']:,.1f}", f"{r['twin']:,.1f}",
                      style=style)  # fmt: skip
    out.print(shown)
    for key in ("sbg", "twin"):
        s = summary.get(key)
        if s:
            out.print(f"{s['model']}: alpha {s['alpha']:.4g}, beta {s['beta']:.4g}, c "
                      f"{s['c']:.4g}; log-likelihood {s['log_likelihood']:.3f}")  # fmt: skip
    mape = summary.get("mape_percent")
    if mape:
        out.print(f"holdout MAPE: sBG {mape['sbg']:.2f}%, twin {mape['twin']:.2f}%")
    if args.out is not None:
        out.print(f"written: [bold]{args.out}[/bold]")
    return 0


def cmd_sample_log(args: argparse.Namespace) -> int:
    """The event log of a simulated business, to try the twin on data with a known truth."""

    out = args.out
    check_table_path(out, "the event log (--out)")
    check_new_files((out,), args.overwrite, inputs=[args.config])
    start = parse_date(args.start_date, "--start-date")
    config = load_config(args.config, seed=args.seed, users=args.users, days=args.days)
    with working(f"simulating {config.days} days of {args.config}", _quiet(args)):
        log = simulate_event_log(config, build_strategies(config, str(args.config)),
                                 start_date=str(start.date()))  # fmt: skip
    write_frame(log, out, **CSV_OPTIONS)
    counts = log["event"].value_counts()
    _console().print(
        f"{log['user_id'].nunique():,} users who arrived in {config.days} simulated days "
        f"({start.date()} on), {len(log):,} events ("
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f")\nevent log: [bold]{out}[/bold]"
    )
    return 0


HANDLERS = {"fit": cmd_fit, "forecast": cmd_forecast, "backtest": cmd_backtest,
            "retention": cmd_retention, "sample-log": cmd_sample_log}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``siyu twin …`` command; failures become one line and an exit status in
    the command line's one error boundary (:func:`sim.cli.main.main`)."""
    return HANDLERS[args.twin_command](args)
