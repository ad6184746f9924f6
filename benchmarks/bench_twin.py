"""The digital twin at scale, on simulator logs, and round trip through the simulator.

    python benchmarks/bench_twin.py                      # 1M users, ~10M events: time, memory
    python benchmarks/bench_twin.py --users 200000       # a smaller log
    python benchmarks/bench_twin.py --sim-backtests      # twin vs BG/NBD on simulator logs
    python benchmarks/bench_twin.py --round-trip         # twin population back in the simulator
    python benchmarks/bench_twin.py --synthetic --users 2400   # cohort logs with known answers

**Scale** (default): generates a log from the twin's own process (``sim.runs.sample_log``,
~10 events per user), writes it as Parquet, then in a fresh subprocess (so the peak resident
memory is the pipeline's own) times: loading and validating the file (``load_events``), the
per-user statistics, the model choice (every candidate fitted and scored on a split of the
calibration period, on a hash-sample of at most 100,000 users), the fit of the chosen
process (with standard errors, and spend), writing the twin
folder, and a 92-day forecast with Monte-Carlo intervals. Numba's compile time is paid by a
small warm-up first and reported apart.

**Simulator backtests**: 300 simulated days of arrivals (40 a day, no initial base) under
``none`` and ``blanket``, in the default world and in a world with 5x the purchase rates,
two seeds each; fit on days 0–212, forecast days 213–299; the twin (each activity mode), plain
BG/BB and BG/NBD against the actual purchase days.

**Round trip**: fit a twin on such a log (5x world, ``blanket``), start a simulation from the
twin population at the calibration end with the same policy and no new arrivals, and compare
its purchases over the holdout with what the real (simulated) users did and with the twin's
forecast.

Prints Markdown tables for docs/TWIN.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAL, UNTIL = "2024-09-30", "2024-12-31"
RICH_CONVERSION = {"camp": 0.06, "course": 0.02, "membership": 0.015, "consulting": 0.01}


# --------------------------------------------------------------------------- scale


PURCHASE_HEAVY = {"r": 1.0, "alpha": 5.0, "a": 1.0, "b": 19.0}  # ~10 purchases a user in 78 weeks


def generate(users: int, path: Path, seed: int, purchases_only: bool = False) -> dict:
    from sim.runs.sample_log import TruthParams, generate_log
    from sim.twin.synthetic import synthetic_log

    t0 = time.perf_counter()
    if purchases_only:
        raw = synthetic_log("bgnbd", users, seed=seed, params=PURCHASE_HEAVY)
        raw = raw.rename(columns={"date": "timestamp"})
    else:
        raw = generate_log(users, TruthParams(zeta=50.0), seed=seed)
    gen_s = time.perf_counter() - t0
    raw.to_parquet(path, index=False)
    return {"events": len(raw), "generate_s": round(gen_s, 1),
            "file_mb": round(path.stat().st_size / 2**20, 1)}  # fmt: skip


def measure(path: Path, out: Path, draws: int) -> dict:
    """Run the pipeline on ``path`` in this process; returns the timings."""
    from sim.cli.twin import data_summary
    from sim.runs.sample_log import TruthParams, generate_log, to_event_frame
    from sim.twin.choice import choose_process
    from sim.twin.events import load_events
    from sim.twin.fit import fit_twin
    from sim.twin.folder import write_twin
    from sim.twin.forecast import forecast, write_forecast
    from sim.twin.rfm import user_statistics

    t = time.perf_counter()
    warm = user_statistics(to_event_frame(generate_log(2000, TruthParams(), seed=1)), CAL)
    forecast(fit_twin(warm, CAL).model, None, warm, 14, draws=20)
    timings = {"warmup_compile_s": time.perf_counter() - t}

    def step(name, fn):
        t0 = time.perf_counter()
        value = fn()
        timings[name] = time.perf_counter() - t0
        return value

    log = step("load_s", lambda: load_events(path))
    stats = step("statistics_s", lambda: user_statistics(log.events, CAL))
    choice = step("choice_s", lambda: choose_process(log.events, CAL))
    fit = step("fit_s", lambda: fit_twin(stats, CAL, choice=choice))
    step("write_twin_s", lambda: write_twin(fit, out / "twin", data=data_summary(log, CAL, stats),
                                           inputs={}, options={}))  # fmt: skip
    fc = step("forecast_s", lambda: forecast(fit.model, fit.spend, stats, 92, draws=draws))
    step("write_forecast_s", lambda: write_forecast(fc, out / "forecast.parquet", CAL))
    m = fit.model
    inner = getattr(m, "model", m)
    purchases = int((log.events["event"] == "purchase").sum())
    return {
        **{k: round(v, 1) for k, v in timings.items()},
        "pipeline_s": round(sum(v for k, v in timings.items() if k != "warmup_compile_s"), 1),
        "rows": log.rows_read,
        "users": len(stats),
        "purchase_events": purchases,
        "chosen": m.name,
        "choice": choice.table[["process", "score"]].to_dict(orient="records"),
        "histories": getattr(inner, "n_patterns_", None),
        "fit_iterations": getattr(inner, "iterations_", None),
        "draws": draws,
        "params": {k: round(v, 4) for k, v in m.params_.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_s_with_warmup": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_utime
            + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            1,
        ),
        "load_average_at_end": round(os.getloadavg()[0], 1),
    }


def scale(users: int, draws: int, seed: int, purchases_only: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        gen = generate(users, path, seed, purchases_only)
        print(f"generated {gen['events']:,} events for {users:,} users "
              f"({gen['file_mb']} MB Parquet) in {gen['generate_s']} s", flush=True)  # fmt: skip
        cmd = [sys.executable, __file__, "--measure", str(path), "--out", tmp,
               "--draws", str(draws)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(gen)
    print(json.dumps(result, indent=2))
    cores = os.cpu_count()
    print(f"\n{platform.processor() or platform.machine()}, {cores} cores, Python "
          f"{platform.python_version()}\n")  # fmt: skip
    cols = ["users", "rows", "purchase_events", "load_s", "statistics_s", "choice_s", "fit_s",
            "write_twin_s", "forecast_s",
            "pipeline_s", "cpu_s_with_warmup", "peak_rss_mb"]  # fmt: skip
    print("| " + " | ".join(cols) + " |")
    print("|" + " ---: |" * len(cols))
    print("| " + " | ".join(f"{result[c]:,}" for c in cols) + " |")


# --------------------------------------------------------------------------- simulator logs


def _sim_config(seed: int, rich: bool, days: int = 300):
    from sim.config import parse_config
    from sim.world.params import WorldParams

    data = {"name": "twin-bench", "seed": seed, "days": days,
            "population": {"initial_users": 0,
                           "arrivals_per_day": {"organic": 10, "ads": 15, "content": 10,
                                                "live": 5}}}  # fmt: skip
    if rich:
        ladder = [p.model_dump() for p in WorldParams().products]
        for p in ladder:
            p["base_daily_conversion"] = RICH_CONVERSION[p["name"]]
        data["world"] = {"products": ladder}
    return parse_config(data, "<bench>")


def _strategies(policy: str):
    from strategies.registry import make_strategy

    return [] if policy == "none" else [make_strategy(policy, {})]


def sim_backtests() -> None:
    import pandas as pd

    from sim.runs.sample_log import simulate_event_log, to_event_frame
    from sim.twin.backtest import _bgnbd_forecasts, _frequency_group, _metrics
    from sim.twin.forecast import week_ends
    from sim.twin.model import TwinModel
    from sim.twin.rfm import user_statistics

    cal, until = "2024-07-31", "2024-10-26"  # days 212 and 299 from 2024-01-01
    models = {"twin rate": {"activity": "rate"}, "twin bound": {"activity": "bound"},
              "BG/BB": {"activity": "off", "use_leave": False}}  # fmt: skip
    names = [*models, "BG/NBD"]
    heads = " | ".join(f"{m} total err % | {m} MAE | {m} profile" for m in names)
    print(f"| world | policy | seed | actual | {heads} |")
    print("|" + " --- |" * 4 + " ---: |" * (3 * (len(models) + 1)))
    for rich in (False, True):
        for policy in ("none", "blanket"):
            for seed in (7, 8):
                events = to_event_frame(
                    simulate_event_log(_sim_config(seed, rich), _strategies(policy))
                )
                stats = user_statistics(events, cal, until)
                horizon = (pd.Timestamp(until) - pd.Timestamp(cal)).days
                actual = stats["holdout_purchases"].to_numpy(float)
                groups = _frequency_group(stats["x"].to_numpy())
                cells = []
                for kw in models.values():
                    fc = TwinModel(**kw).fit(stats).expected_purchases(horizon, stats)
                    cells.append(_metrics(fc, actual, fc, actual, groups))
                _, weekly = _bgnbd_forecasts(stats, week_ends(horizon))
                cells.append(_metrics(weekly[:, -1], actual, actual, actual, groups))
                row = [("5x" if rich else "default"), policy, str(seed), f"{actual.sum():.0f}"]
                for m in cells:
                    row += [f"{m['total_error'] / m['total_actual'] * 100:+.1f}",
                            f"{m['mae']:.4f}", f"{m['profile_error']:.4f}"]  # fmt: skip
                print("| " + " | ".join(row) + " |", flush=True)


def round_trip() -> None:
    import pandas as pd

    from sim.config import parse_config
    from sim.engine.simulation import Simulation
    from sim.runs.sample_log import simulate_event_log, to_event_frame
    from sim.twin.fit import fit_twin
    from sim.twin.folder import write_twin
    from sim.twin.forecast import forecast
    from sim.twin.rfm import user_statistics

    cal, until, horizon = "2024-07-31", "2024-10-26", 87
    print("| policy | seed | real users' purchase days (holdout) | twin forecast [95%] | "
          "simulated twin population | its first 30 days / real first 30 days |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for policy in ("blanket", "none"):
        for seed in (7, 8):
            events = to_event_frame(
                simulate_event_log(_sim_config(seed, True), _strategies(policy))
            )
            stats = user_statistics(events, cal, until)
            fit = fit_twin(stats, cal)
            fc = forecast(fit.model, fit.spend, stats, horizon, seed=1, draws=100)
            with tempfile.TemporaryDirectory() as tmp:
                path = write_twin(fit, Path(tmp) / "twin", data={}, inputs={}, options={})
                config = parse_config(
                    {"name": "round-trip", "seed": 100 + seed, "days": horizon,
                     "population": {"twin": str(path), "arrivals_per_day": {
                         "organic": 0, "ads": 0, "content": 0, "live": 0}},
                     "world": _sim_config(seed, True).world.model_dump()},
                    "<bench>",
                )  # fmt: skip
                tables = Simulation(config, _strategies(policy)).run().tables
            buys = tables["purchases"]
            base = set(tables["users"].loc[tables["users"]["join_day"] < 0, "user_id"])
            sim_days = buys[buys["user_id"].isin(base)].drop_duplicates(["user_id", "day"])
            buy = events[(events["event"] == "purchase") & events["user_id"].isin(stats["user_id"])]
            day = (buy["date"] - pd.Timestamp(cal)).dt.days
            real = buy.assign(d=day)[(day >= 1) & (day <= horizon)].drop_duplicates(
                ["user_id", "d"]
            )
            last = fc.weekly.iloc[-1]
            first_sim = int((sim_days["day"] < 30).sum())
            first_real = int((real["d"] <= 30).sum())
            print(f"| {policy} | {seed} | {len(real):,} | {last['expected_purchases']:,.0f} "
                  f"[{last['purchases_lo95']:,.0f}, {last['purchases_hi95']:,.0f}] | "
                  f"{len(sim_days):,} | {first_sim:,} / {first_real:,} "
                  f"({first_sim / max(first_real, 1):.2f}) |", flush=True)  # fmt: skip


# --------------------------------------------------------------------------- synthetic cohorts


def synthetic_backtests(users: int, seed: int) -> None:
    """`siyu twin backtest` (its function) on a cohort log from each generator of
    sim.twin.synthetic: 39 weeks of calibration, 39 of holdout."""
    import pandas as pd

    from sim.twin.backtest import groups_within, run_backtest
    from sim.twin.synthetic import GENERATORS, START, calibration_end, synthetic_log

    cal, until = calibration_end(39), START + pd.Timedelta(days=78 * 7 - 1)
    print(
        "| log | users | chosen | actual | total % twin / BG/NBD | MAE twin / BG/NBD | "
        "correlation twin / BG/NBD | x=0..6 within ±30%: twin / BG/NBD | all four met |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for kind in GENERATORS:
        r = run_backtest(synthetic_log(kind, users, seed=seed), cal, until, seed=1, draws=100)
        print(_synthetic_row(kind, users, r, groups_within), flush=True)


def _synthetic_row(kind, users, r, groups_within) -> str:
    t, b = r.metrics["twin"], r.metrics["bgnbd"]
    gt, gb = groups_within(r.by_frequency, "twin"), groups_within(r.by_frequency, "bgnbd")
    keys = (
        "total_at_least_as_good_as_bgnbd",
        "mae_at_least_as_good_as_bgnbd",
        "correlation_at_least_as_good_as_bgnbd",
        "groups_0_to_6_within_30pct_where_bgnbd_is",
    )
    met = all(r.verdict[k] for k in keys)
    failed = ", ".join(k.split("_")[0] for k in keys if not r.verdict[k])

    def pct(m):
        return (m["total_forecast"] / m["total_actual"] - 1) * 100

    def ok(g):
        return "".join("✓" if g.get(str(x)) else ("✗" if str(x) in g else "·") for x in range(7))

    return (f"| {kind} | {users:,} | {r.fits['choice']['chosen']} | {t['total_actual']:,.0f} | "
            f"{pct(t):+.1f} / {pct(b):+.1f} | {t['mae']:.4f} / {b['mae']:.4f} | "
            f"{t['correlation']:.3f} / {b['correlation']:.3f} | {ok(gt)} / {ok(gb)} | "
            f"{'yes' if met else 'no: ' + failed} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--draws", type=int, default=100, help="Monte-Carlo draws of the forecast")
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--sim-backtests", action="store_true")
    p.add_argument("--round-trip", action="store_true")
    p.add_argument("--synthetic", action="store_true", help="backtests on synthetic cohorts")
    p.add_argument(
        "--purchases-only",
        action="store_true",
        help="scale on a purchase-only BG/NBD cohort log (~10 purchases a user)",
    )
    p.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.out, args.draws)))
    elif args.synthetic:
        synthetic_backtests(args.users, args.seed)
    elif args.sim_backtests:
        sim_backtests()
    elif args.round_trip:
        round_trip()
    else:
        scale(args.users, args.draws, args.seed, args.purchases_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
