"""Cohort retention: sBG against Fader & Hardie (2007), the BdW that nests it, the table CLI.

Published figures (Fader & Hardie 2007, "How to project customer retention"): survivors per
1,000 customers for years 0-12 of two segments; fitted to years 0-7 the sBG estimates are
alpha = 0.704, beta = 1.182 (regular) and alpha = 0.668, beta = 3.806 (high end). We require
the estimates within +-0.02 and the projections for years 8-12 within 5% of the actual survivors
in every year (the paper shows the sBG tracking both segments closely over those years).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.twin.events import EventFileError
from sim.twin.retention import (
    fit_retention,
    read_retention_table,
    retention_summary,
    run_retention,
)
from sim.twin.sbg import BetaDiscreteWeibull, ShiftedBetaGeometric

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
PUBLISHED = {"regular": (REGULAR, 0.704, 1.182), "high_end": (HIGH_END, 0.668, 3.806)}
EXAMPLE = Path(__file__).resolve().parents[2] / "experiments" / "data" / "retention_example.csv"


@pytest.mark.parametrize("segment", sorted(PUBLISHED))
def test_sbg_reproduces_the_published_estimates(segment):
    series, alpha, beta = PUBLISHED[segment]
    model = ShiftedBetaGeometric().fit(series[:8])
    assert model.params_["alpha"] == pytest.approx(alpha, abs=0.02)
    assert model.params_["beta"] == pytest.approx(beta, abs=0.02)
    assert model.se_["alpha"] > 0 and model.se_["beta"] > 0


@pytest.mark.parametrize("segment", sorted(PUBLISHED))
def test_sbg_projections_track_the_later_years(segment):
    series = np.array(PUBLISHED[segment][0], dtype=float)
    projected = ShiftedBetaGeometric().fit(series[:8]).project(12)
    relative = np.abs(projected[8:] - series[8:]) / series[8:]
    assert np.all(relative < 0.05), relative


def test_sbg_retention_rate_has_the_closed_form():
    model = ShiftedBetaGeometric().fit(REGULAR[:8])
    alpha, beta = model.params_["alpha"], model.params_["beta"]
    t = np.arange(1, 15)
    np.testing.assert_allclose(
        model.retention_rate(t), (beta + t - 1) / (alpha + beta + t - 1), rtol=1e-10
    )
    assert np.all(np.diff(model.retention_rate(t)) > 0)  # heterogeneity: retention rises


def test_survival_starts_at_one_and_falls():
    for model in (ShiftedBetaGeometric(), BetaDiscreteWeibull()):
        model.fit(HIGH_END[:8])
        s = model.survival(np.arange(30))
        assert s[0] == pytest.approx(1.0)
        assert np.all(np.diff(s) < 0)
        assert model.project(5)[0] == pytest.approx(1000.0)


@pytest.mark.parametrize("series", [REGULAR[:8], HIGH_END[:8], REGULAR[:4], [500, 300, 250, 240]])
def test_bdw_nests_sbg(series):
    sbg = ShiftedBetaGeometric().fit(series)
    bdw = BetaDiscreteWeibull().fit(series)
    assert bdw.log_likelihood_ >= sbg.log_likelihood_ - 1e-9


def _bdw_expected_cohort(alpha, beta, c, periods, size):
    from scipy.special import betaln

    t = np.arange(periods + 1, dtype=float)
    return size * np.exp(betaln(alpha, beta + t**c) - betaln(alpha, beta))


def test_bdw_recovers_duration_dependence_and_sbg_cannot():
    # a large cohort drawn from a BdW with strong negative duration dependence (c = 0.5)
    rng = np.random.default_rng(2018)
    size, periods = 20_000, 10
    theta = rng.beta(1.2, 3.0, size)
    u = rng.uniform(size=size)
    # survive to t while (1 - theta)^(t^c) > u, i.e. t < (log u / log(1 - theta))^(1/c)
    lifetime = np.floor((np.log(u) / np.log1p(-theta)) ** (1 / 0.5))
    survivors = np.array([(lifetime >= t).sum() for t in range(periods + 1)], dtype=float)
    bdw = BetaDiscreteWeibull().fit(survivors)
    sbg = ShiftedBetaGeometric().fit(survivors)
    for name, truth in (("alpha", 1.2), ("beta", 3.0), ("c", 0.5)):
        assert abs(bdw.params_[name] - truth) < 4 * bdw.se_[name], name
    assert bdw.log_likelihood_ > sbg.log_likelihood_ + 10  # c = 1 clearly rejected


def test_bdw_with_c_1_is_sbg():
    sbg = ShiftedBetaGeometric().fit(REGULAR[:8])
    expected = _bdw_expected_cohort(sbg.params_["alpha"], sbg.params_["beta"], 1.0, 12, 1000)
    np.testing.assert_allclose(sbg.project(12), expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("survivors", "message"),
    [([1000], "at least one later"), ([1000, 1100], "must not increase"), ([0, 0], "> 0")],
)
def test_bad_survivor_series(survivors, message):
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeometric().fit(survivors)


# ----------------------------------------------------------------------------- the table CLI


def test_run_retention_on_the_example_table(tmp_path):
    out = tmp_path / "projection.csv"
    table = run_retention(EXAMPLE, fit_through=7, project_to=15, out_path=out)
    assert list(table.columns) == ["period", "actual", "sbg", "twin"]
    assert table["period"].tolist() == list(range(16))
    np.testing.assert_array_equal(table["actual"].to_numpy()[:13], REGULAR)
    assert table["actual"].iloc[13:].isna().all()
    summary = table.attrs["summary"]
    assert summary["sbg"]["alpha"] == pytest.approx(0.704, abs=0.02)
    assert summary["holdout_periods"] == [8, 9, 10, 11, 12]
    assert summary["twin"]["log_likelihood"] >= summary["sbg"]["log_likelihood"]
    # the twin matches or beats the sBG reference on the held-out years
    assert summary["mape_percent"]["twin"] <= summary["mape_percent"]["sbg"]
    written = pd.read_csv(out)
    pd.testing.assert_frame_equal(written, table, check_dtype=False)
    sidecar = json.loads((tmp_path / "projection.summary.json").read_text())
    assert sidecar["mape_percent"] == summary["mape_percent"]
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_retention(EXAMPLE, fit_through=5, project_to=15, out_path=out)
    assert out.read_bytes() == before  # an earlier result is never replaced silently
    run_retention(EXAMPLE, fit_through=5, project_to=15, out_path=out, overwrite=True)
    assert out.read_bytes() != before


def test_summary_function_matches_the_table():
    summary = retention_summary(EXAMPLE, 7, 12)
    table = run_retention(EXAMPLE, 7, 12)
    assert summary["mape_percent"] == table.attrs["summary"]["mape_percent"]
    assert set(summary["twin"]) >= {"alpha", "beta", "c", "se", "log_likelihood"}
    json.dumps(summary)  # serialisable for the CLI


def test_no_holdout_no_error_and_few_periods_mean_sbg():
    table = read_retention_table(EXAMPLE)
    full = fit_retention(table, 12, 20)
    assert full.summary["mape_percent"] is None
    short = fit_retention(table, 2, 5)  # c is not identified from two periods
    assert not short.summary["twin"]["duration_dependence_fitted"]
    np.testing.assert_allclose(short.table["twin"], short.table["sbg"])


def _write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_count_column_aliases(tmp_path):
    path = _write(tmp_path, "Period,Customers\n0,100\n1,80\n2,70\n")
    assert read_retention_table(path)["survivors"].tolist() == [100, 80, 70]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("period,count\n0,100\n1,80\n", "expected 'period' and one of survivors"),
        ("period,customers,active\n0,1,1\n", "more than one count column"),
        ("# note\nperiod,survivors\n0,100\n2,80\n", "line 4: periods must run 0, 1, 2"),
        ("period,survivors\n0,100\n1,80\n\n2,90\n", "line 5: survivors must not increase"),
        ("period,survivors\n0,100\n1,80.5\n", "line 3: survivors must be a whole number"),
        ("period,survivors\n0,100\n1,-3\n", "line 3: survivors must be a whole number"),
        ("period,survivors\n0,100\nx,80\n", "line 3: period must be a whole number"),
        ("period,survivors\n0,100\n1,80,7\n", "line 3: expected 2 fields, got 3"),
        ("period,survivors\n1,100\n2,80\n", "line 2: periods must run"),
        ("period,survivors\n0,0\n1,0\n", "line 2: period 0 is the cohort size"),
        ("period,survivors\n0,100\n", "need at least periods 0 and 1"),
        ("", "empty table"),
    ],
)
def test_bad_tables_are_reported_with_lines(tmp_path, text, message):
    with pytest.raises(EventFileError, match=message):
        read_retention_table(_write(tmp_path, text))


def test_table_file_problems(tmp_path):
    with pytest.raises(EventFileError, match="file not found"):
        read_retention_table(tmp_path / "missing.csv")
    with pytest.raises(EventFileError, match="unsupported file type"):
        read_retention_table(_write(tmp_path, "period,survivors\n", "table.xlsx"))


@pytest.mark.parametrize(("fit_through", "project_to"), [(1, 10), (13, 20), (5, 0)])
def test_bad_horizons(fit_through, project_to):
    with pytest.raises(ValueError, match="fit_through|project_to"):
        run_retention(EXAMPLE, fit_through, project_to)
