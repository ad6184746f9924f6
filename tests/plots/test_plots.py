"""Plots and the end-of-run summary, on synthetic run tables that follow the engine's schema.

``make_tables`` builds a small, internally consistent run (daily counts derived from the users,
purchases and groups frames) so summary figures can be checked against the frames directly.
"""

from __future__ import annotations

import io
import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from sim.analysis.curves import (
    arrival_purchases,
    km_sample,
    mean_cumulative_revenue,
    share_retained_curve,
)
from sim.analysis.summary import print_summary, summary_dict, summary_table
from sim.plots.run import PLOT_FILES, plot_run, plot_survival
from sim.runs.folder import is_complete_run, load_run, write_run
from sim.world.lifecycle import STAGES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- synthetic run


def _cat(values, categories=None) -> pd.Categorical:
    return pd.Categorical(values, categories=categories)


def _make_users(rng, days, n_base, arrivals_per_day, churn):
    join = np.concatenate(
        [-rng.integers(1, 365, n_base), np.repeat(np.arange(days), arrivals_per_day)]
    ).astype(np.int32)
    n = len(join)
    start = np.maximum(join, 0)
    churn_day = np.full(n, -1, np.int64)
    if churn:
        churn_day = start + rng.geometric(1 / 60, n) - 1
        churn_day[churn_day >= days] = -1
    churned = churn_day >= 0
    others = rng.choice(STAGES[:4], n)
    return pd.DataFrame(
        {
            "user_id": (rng.permutation(n) * 7 + 1000).astype(np.int64),
            "join_day": join,
            "channel": _cat(rng.choice(["organic", "ads", "referral"], n)),
            "referrer_id": np.full(n, -1, np.int64),
            "age": rng.integers(18, 60, n).astype(np.int16),
            "occupation": _cat(rng.choice(["student", "office", "other"], n)),
            "city_tier": rng.integers(1, 5, n).astype(np.int8),
            "income": rng.lognormal(9, 0.5, n).astype(np.float32),
            "price_sensitivity": rng.random(n).astype(np.float32),
            "preference": _cat(rng.choice(["exam", "career", "hobby"], n)),
            "engagement": rng.random(n).astype(np.float32),
            "final_stage": _cat(np.where(churned, "churned", others), list(STAGES)),
            "quadrant": _cat(rng.choice(["a", "b"], n)),
            "group_activity": _cat(rng.choice(["silent", "active"], n)),
            "churn_depth": _cat(rng.choice(["none", "shallow"], n)),
            "churn_day": churn_day.astype(np.int32),
            "churned": churned,
            "duration": np.where(churned, churn_day - start, days - start).astype(np.int32),
            "group_id": np.full(n, -1, np.int32),
            "completed_courses": np.zeros(n, np.int16),
            "referrals_made": np.zeros(n, np.int32),
        }
    )


def _make_purchases(rng, users, days, with_purchases):
    n = len(users)
    if not with_purchases or n == 0:
        idx = np.empty(0, np.int64)
        day = np.empty(0, np.int64)
    else:
        idx = rng.integers(0, n, 3 * n)
        day = np.maximum(users["join_day"].to_numpy(), 0)[idx] + rng.integers(0, 90, 3 * n)
        churn = users["churn_day"].to_numpy()[idx]
        ok = (day < days) & ((churn < 0) | (day <= churn))
        idx, day = idx[ok], day[ok]
    price = rng.choice([9.9, 1999.0, 2999.0], len(idx))
    return pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[idx],
            "day": day.astype(np.int32),
            "product": _cat(rng.choice(["camp", "course", "membership"], len(idx))),
            "price_paid": price,
            "discount": rng.choice([0.0, 10.0], len(idx)),
        }
    )


def _add_purchase_columns(users, purchases):
    rows = pd.Index(users["user_id"]).get_indexer(purchases["user_id"])
    n = len(users)
    revenue = np.bincount(rows, weights=purchases["price_paid"], minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, rows, purchases["day"].to_numpy(np.int64))
    last = np.full(n, -1)
    np.maximum.at(last, rows, purchases["day"].to_numpy(np.int64))
    users["purchases"] = np.bincount(rows, minlength=n).astype(np.int32)
    users["ladder_level"] = np.minimum(users["purchases"], 4).astype(np.int8)
    users["revenue"] = revenue
    users["discount"] = np.bincount(rows, weights=purchases["discount"], minlength=n)
    users["cost_money"] = 1.0
    users["operator_hours"] = 0.1
    users["net_value"] = revenue - 1.0
    users["first_purchase_day"] = np.where(first == np.iinfo(np.int64).max, -1, first).astype(
        np.int32
    )
    users["last_purchase_day"] = last.astype(np.int32)


def _make_groups(rng, days, with_groups):
    n_groups = 4 if with_groups else 0
    day = np.repeat(np.arange(days), n_groups)
    gid = np.tile(np.arange(n_groups), days)
    size = rng.integers(20, 200, len(day))
    speakers = rng.binomial(size, 0.15)
    pushed = rng.integers(0, 3, len(day))
    opened = rng.binomial(size * pushed, 0.3)
    with np.errstate(invalid="ignore", divide="ignore"):
        open_rate = np.where(pushed > 0, opened / (size * np.maximum(pushed, 1)), np.nan)
    return pd.DataFrame(
        {
            "day": day.astype(np.int32),
            "group_id": gid.astype(np.int32),
            "size": size.astype(np.int32),
            "speakers": speakers.astype(np.int32),
            "speaking_rate": (speakers / size).astype(np.float32),
            "pushed": pushed.astype(np.int32),
            "opened": opened.astype(np.int32),
            "open_rate": open_rate.astype(np.float32),
            "joins": rng.integers(0, 5, len(day)).astype(np.int32),
            "leaves": rng.integers(0, 5, len(day)).astype(np.int32),
            "alive": np.ones(len(day), bool),
        }
    )


def _stage_counts(users, registered, churned_cum):
    """End-of-day stage counts summing to registered; the last day matches final_stage."""
    days = len(registered)
    alive = registered - churned_cum
    fractions = np.array([0.4, 0.2, 0.3, 0.1])
    split = np.floor(alive[:, None] * fractions[None, :]).astype(np.int64)
    split[:, 0] += alive - split.sum(axis=1)
    final = users["final_stage"].value_counts().reindex(list(STAGES), fill_value=0)
    split[days - 1] = final.to_numpy()[:4]
    counts = {f"stage_{s}": split[:, i] for i, s in enumerate(STAGES[:4])}
    counts["stage_churned"] = churned_cum
    return counts


def _group_daily(groups, days):
    by_day = groups.groupby("day")
    size = by_day["size"].sum().reindex(range(days), fill_value=0).to_numpy()
    speakers = by_day["speakers"].sum().reindex(range(days), fill_value=0).to_numpy()
    opened = by_day["opened"].sum().reindex(range(days), fill_value=0).to_numpy()
    pushed = (groups["pushed"] * groups["size"]).groupby(groups["day"]).sum()
    pushed = pushed.reindex(range(days), fill_value=0).to_numpy()
    alive = by_day["alive"].sum().reindex(range(days), fill_value=0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "group_joins": by_day["joins"].sum().reindex(range(days), fill_value=0).to_numpy(),
            "group_leaves": by_day["leaves"].sum().reindex(range(days), fill_value=0).to_numpy(),
            "groups_alive": alive,
            "group_members": size,
            "group_speaking_rate": np.where(size > 0, speakers / np.maximum(size, 1), np.nan),
            "group_open_rate": np.where(pushed > 0, opened / np.maximum(pushed, 1), np.nan),
        }


def _make_daily(rng, users, purchases, groups, days):
    join = users["join_day"].to_numpy()
    arrivals = np.bincount(join[join >= 0], minlength=days)[:days]
    registered = int((join < 0).sum()) + np.cumsum(arrivals)
    churn = users["churn_day"].to_numpy()
    churned_today = np.bincount(churn[churn >= 0], minlength=days)[:days]
    churned_cum = np.cumsum(churned_today)
    p_day = purchases["day"].to_numpy()
    daily = pd.DataFrame(
        {
            "day": np.arange(days, dtype=np.int32),
            "users_registered": registered,
            "arrivals": arrivals,
            "arrivals_referred": arrivals // 3,
            **_stage_counts(users, registered, churned_cum),
            "active": rng.binomial(registered - churned_cum, 0.3),
            "opened": rng.binomial(registered - churned_cum, 0.2),
            "spoke": rng.binomial(registered - churned_cum, 0.05),
            "shared": rng.binomial(registered - churned_cum, 0.01),
            "purchases": np.bincount(p_day, minlength=days)[:days],
            "revenue": np.bincount(p_day, weights=purchases["price_paid"], minlength=days)[:days],
            "discount": np.bincount(p_day, weights=purchases["discount"], minlength=days)[:days],
            "cost_money": rng.uniform(50, 100, days),
            "operator_hours": rng.uniform(1, 8, days),
        }
    )
    for col in ("messages_content", "messages_promo", "coupons_issued", "contacts_1v1"):
        daily[col] = rng.integers(0, 100, days)
    for col in ("rewards", "group_invites", "group_removals", "mutes"):
        daily[col] = rng.integers(0, 10, days)
    daily["churned_today"] = churned_today
    for col, values in _group_daily(groups, days).items():
        daily[col] = values
    daily["trust_mean"] = rng.uniform(0.3, 0.5, days)
    daily["fatigue_mean"] = rng.uniform(0.1, 0.3, days)
    return daily


def make_tables(
    days: int = 150,
    n_base: int = 300,
    arrivals_per_day: int = 4,
    seed: int = 0,
    churn: bool = True,
    purchases: bool = True,
    groups: bool = True,
) -> dict[str, pd.DataFrame]:
    """A small synthetic run following the engine's table schema."""
    rng = np.random.default_rng(seed)
    users = _make_users(rng, days, n_base, arrivals_per_day, churn)
    purchase_frame = _make_purchases(rng, users, days, purchases)
    _add_purchase_columns(users, purchase_frame)
    group_frame = _make_groups(rng, days, groups)
    daily = _make_daily(rng, users, purchase_frame, group_frame, days)
    churned = users["churned"].to_numpy()
    transitions = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[churned],
            "day": users["churn_day"].to_numpy()[churned],
            "from_stage": _cat(np.full(churned.sum(), "dormant"), list(STAGES)),
            "to_stage": _cat(np.full(churned.sum(), "churned"), list(STAGES)),
        }
    )
    return {
        "daily": daily,
        "users": users,
        "transitions": transitions,
        "purchases": purchase_frame,
        "groups": group_frame,
    }


def empty_tables() -> dict[str, pd.DataFrame]:
    return {name: frame.iloc[0:0] for name, frame in make_tables(days=5).items()}


def empty_or_missing_tables() -> dict[str, pd.DataFrame]:
    """Zero-row daily and users frames; the other tables are absent altogether."""
    empty = empty_tables()
    return {"daily": empty["daily"], "users": empty["users"]}


# Degenerate cases are combined so the plotting test stays fast; each plot has one code path
# per missing ingredient (no groups / no purchases / nobody churned), so combining loses nothing.
CASES = {  # the normal case is covered by test_plots_inside_a_run_folder
    "no_groups_no_purchases_nobody_churned": lambda: make_tables(
        groups=False, purchases=False, churn=False
    ),
    "one_day_base_only": lambda: make_tables(days=1, arrivals_per_day=0),
    "empty_or_missing": empty_or_missing_tables,
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


def test_factory_is_consistent(tables):
    daily, users = tables["daily"], tables["users"]
    stage_sum = daily[[f"stage_{s}" for s in STAGES]].sum(axis=1)
    assert (stage_sum == daily["users_registered"]).all()
    assert daily["users_registered"].iloc[-1] == len(users)
    assert daily["revenue"].sum() == pytest.approx(tables["purchases"]["price_paid"].sum())


# --------------------------------------------------------------------------- plots


def assert_valid_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
    assert image.std() > 0.01  # not a blank canvas


@pytest.mark.parametrize("case", list(CASES))
def test_plot_run_writes_every_plot(tmp_path, case):
    written = plot_run(CASES[case](), tmp_path / "plots")
    assert sorted(p.split("/")[-1] for p in written) == sorted(PLOT_FILES)
    for name in PLOT_FILES:
        assert_valid_png(tmp_path / "plots" / name)


@pytest.mark.slow
def test_plots_inside_a_run_folder(tmp_path, tables):
    manifest = {"seed": 1, "timings": {"total_s": 2.5}}
    out = write_run(tmp_path / "run", tables, manifest, plots=lambda d: plot_run(tables, d))
    assert is_complete_run(out)
    run = load_run(out)
    assert sorted(run.manifest["plots"]) == sorted(f"plots/{n}" for n in PLOT_FILES)
    for name in PLOT_FILES:
        assert f"plots/{name}" in run.manifest["files"]
        assert_valid_png(out / "plots" / name)
    assert summary_dict(run.tables, run.manifest) == summary_dict(tables, manifest)


def test_survival_on_a_sample(tmp_path, tables):
    assert_valid_png(plot_survival(tables["users"], tmp_path / "s.png", max_users=100))


def test_km_sample_is_deterministic_every_kth_by_user_id(tables):
    users = tables["users"]
    sample, step = km_sample(users, max_users=100)
    assert step == -(-len(users) // 100) and len(sample) <= 100
    ids = np.sort(users["user_id"].to_numpy())
    assert (sample["user_id"].to_numpy() == ids[::step]).all()
    shuffled, _ = km_sample(users.sample(frac=1.0, random_state=3), max_users=100)
    assert (shuffled["user_id"].to_numpy() == sample["user_id"].to_numpy()).all()
    assert km_sample(users, max_users=len(users))[1] == 1


def test_retention_curve_known_values():
    k, share = share_retained_curve(np.zeros(4, np.int64), np.array([0, 1, 2, 10]), horizon=5)
    assert k.tolist() == [0, 1, 2, 3, 4]
    assert share.tolist() == [0.75, 0.5, 0.25, 0.25, 0.25]
    # the cohort is only plotted while every member is observed
    k, _ = share_retained_curve(np.array([0, 3]), np.array([5, 2]), horizon=5)
    assert k.tolist() == [0, 1]
    assert len(share_retained_curve(np.array([6]), np.array([0]), horizon=5)[0]) == 0


def test_retention_curve_matches_brute_force(tables):
    users = tables["users"]
    arrivals = users[(users["join_day"] >= 0) & (users["join_day"] < 30)]
    horizon = int(tables["daily"]["day"].max()) + 1
    start = arrivals["join_day"].to_numpy(np.int64)
    churn = arrivals["churn_day"].to_numpy(np.int64)
    duration = np.where(churn >= 0, churn - start, horizon - start)
    k, share = share_retained_curve(start, duration, horizon)
    assert k[-1] == horizon - 1 - start.max()
    for kk in (0, 7, int(k[-1])):
        alive = [(c < 0) or (c > s + kk) for s, c in zip(start, churn, strict=True)]
        assert share[kk] == pytest.approx(np.mean(alive))


def test_mean_cumulative_revenue_matches_brute_force():
    rng = np.random.default_rng(5)
    last_k = rng.integers(0, 40, 50)
    buyer = rng.integers(0, 50, 200)
    p_k = (rng.random(200) * (last_k[buyer] + 1)).astype(np.int64)
    price = rng.choice([10.0, 100.0], 200)
    k, mean = mean_cumulative_revenue(last_k, p_k, last_k[buyer], price)
    expected = 0.0
    for kk in range(k.max() + 1):
        observed = last_k >= kk
        spent = sum(p for b, t, p in zip(buyer, p_k, price, strict=True) if t == kk)
        expected += spent / observed.sum()  # mean revenue on day kk among users observed then
        if kk in k:
            assert mean[kk] == pytest.approx(expected)
    assert np.all(np.diff(mean) >= 0)  # a cumulative mean never decreases
    assert (np.bincount(last_k)[::-1].cumsum()[::-1][k] >= 5).all()  # 10% of 50 users observed


def test_ltv_uses_only_observed_purchases_of_known_arrivals():
    users = pd.DataFrame({"user_id": [30, 10, 20], "join_day": [-5, 3, 8]})
    purchases = pd.DataFrame(
        {"user_id": [10, 20, 30, 99, 20], "day": [4, 9, 1, 5, 8], "price_paid": [1.0, 2, 4, 8, 16]}
    )
    join = users["join_day"].to_numpy()
    last_k = 9 - join  # horizon 10
    rows, p_k, price = arrival_purchases(users, purchases, join > 0, last_k)
    # the base user's (30) and the unknown user's (99) purchases are dropped
    assert rows.tolist() == [1, 2, 2] and p_k.tolist() == [1, 1, 0]
    assert price.tolist() == [1.0, 2.0, 16.0]


# --------------------------------------------------------------------------- summary


def test_summary_figures_match_the_frames(tables):
    daily, users = tables["daily"], tables["users"]
    manifest = {"timings": {"total_s": 12.25}}
    s = summary_dict(tables, manifest)
    assert s["revenue"] == pytest.approx(daily["revenue"].sum())
    assert s["cost_money"] == pytest.approx(daily["cost_money"].sum())
    assert s["net_value"] == pytest.approx(daily["revenue"].sum() - daily["cost_money"].sum())
    assert s["purchases"] == len(tables["purchases"])
    assert s["users_end"] == len(users)
    assert s["users_start"] == (users["join_day"] < 0).sum()
    assert s["arrivals"] == (users["join_day"] >= 0).sum()
    assert s["arrivals_referred"] == daily["arrivals_referred"].sum()
    final = users["final_stage"].value_counts()
    for stage in STAGES:
        assert s[f"stage_{stage}"] == final[stage]
    assert sum(s[f"share_{st}"] for st in STAGES) == pytest.approx(1.0)
    assert s["active_last_day"] == daily["active"].iloc[-1]
    assert s["revenue_per_user"] == pytest.approx(daily["revenue"].sum() / len(users))
    assert s["groups_alive_end"] == daily["groups_alive"].iloc[-1]
    assert s["speaking_rate_mean"] == pytest.approx(daily["group_speaking_rate"].mean())
    assert s["wall_time_s"] == 12.25
    json.dumps(s)  # plain Python values only


@pytest.mark.parametrize("k", [30, 90])
def test_summary_retention_matches_direct_count(tables, k):
    users = tables["users"]
    horizon = len(tables["daily"])
    observed = users[(users["join_day"] >= 0) & (users["join_day"] + k < horizon)]
    alive = observed.apply(lambda u: u.churn_day < 0 or u.churn_day > u.join_day + k, axis=1)
    s = summary_dict(tables, {})
    assert s[f"retention_{k}d_n"] == len(observed)
    assert s[f"retention_{k}d"] == pytest.approx(alive.mean())


def test_summary_of_degenerate_runs():
    s = summary_dict(make_tables(days=60, groups=False, churn=False), None)
    assert s["retention_30d"] == 1.0
    assert s["retention_90d"] is None and s["retention_90d_n"] == 0
    assert s["groups_alive_end"] == 0 and s["speaking_rate_mean"] is None
    assert s["wall_time_s"] is None
    empty = summary_dict(empty_tables(), {})
    assert empty["users_end"] == 0 and empty["revenue"] == 0.0
    assert empty["revenue_per_user"] is None


def test_summary_table_renders(tables):
    console = Console(file=io.StringIO(), width=100, record=True)
    print_summary(tables, {"timings": {"total_s": 3.0}}, console=console)
    text = console.export_text()
    assert "Run summary" in text
    assert f"¥{tables['daily']['revenue'].sum():,.2f}" in text
    assert "30-day retention of arrivals" in text and "wall time" in text
    assert summary_table(empty_tables(), {}).row_count > 10
