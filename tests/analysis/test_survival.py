"""Survival per arm (sim.analysis.survival) on synthetic data with known answers.

Exponential lifetimes with hazard λ have S(t) = exp(−λt) and RMST(τ) = (1 − e^{−λτ})/λ; a Cox
model with a planted coefficient β must return a hazard ratio near e^β. Every draw is seeded.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.survival import cox_hazard_ratios, km_curve, logrank, rmst_difference
from sim.errors import SiyuWarning


def exponential_sample(
    rng: np.random.Generator, n: int, rate: float, end: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exponential lifetimes, censored at a uniform entry-dependent time and at ``end``."""
    lifetimes = rng.exponential(1.0 / rate, n)
    censor = np.minimum(rng.uniform(10.0, 2 * end, n), end)
    return np.minimum(lifetimes, censor), lifetimes <= censor


def test_km_recovers_the_exponential_survival_function():
    rng = np.random.default_rng(7)
    rate = 0.04
    durations, events = exponential_sample(rng, 6_000, rate)
    curve = km_curve(durations, events, label="exp")
    assert curve["time"].iloc[0] == 0 and curve["survival"].iloc[0] == 1.0
    assert np.all(np.diff(curve["survival"]) <= 0)
    assert np.all(np.diff(curve["at_risk"]) <= 0) and curve["at_risk"].iloc[0] == 6_000
    assert (curve["ci_low"] <= curve["survival"] + 1e-12).all()
    assert (curve["survival"] <= curve["ci_high"] + 1e-12).all()
    assert (curve["label"] == "exp").all()
    step = curve.set_index("time")["survival"]
    for t in (5.0, 15.0, 30.0, 50.0):
        estimate = step[step.index <= t].iloc[-1]
        assert estimate == pytest.approx(np.exp(-rate * t), abs=0.02)


def test_km_by_hand():
    # 4 users: churn at 1, churn at 2, censored at 2, churn at 3
    curve = km_curve([1, 2, 2, 3], [1, 1, 0, 1])
    assert curve["time"].tolist() == [0, 1, 2, 3]
    assert curve["at_risk"].tolist() == [4, 4, 3, 1]
    assert curve["survival"].to_numpy() == pytest.approx([1.0, 3 / 4, 3 / 4 * 2 / 3, 0.0])


@pytest.mark.parametrize("seed", range(40))
def test_km_is_lifelines_to_the_last_bit(seed):
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2_000))
    if seed % 3 == 0:  # continuous times, no ties
        durations = rng.exponential(30.0, n)
    else:  # whole days, many ties, sometimes day 0
        durations = rng.integers(seed % 2, int(rng.integers(2, 300)), n).astype(float)
    events = rng.random(n) < rng.random()
    if seed % 10 == 4:
        events[:] = True  # everyone churns: the curve reaches 0
    if seed % 10 == 5:
        events[:] = False  # nobody churns: the band is undefined, 1
    expected = KaplanMeierFitter(alpha=0.1).fit(durations, event_observed=events)
    curve = km_curve(durations, events, alpha=0.1)
    survival = expected.survival_function_.iloc[:, 0]
    band = expected.confidence_interval_survival_function_
    assert np.array_equal(curve["time"], survival.index.to_numpy(float))
    assert np.array_equal(curve["survival"], survival.to_numpy())
    assert np.array_equal(curve["ci_low"], band.iloc[:, 0].to_numpy())
    assert np.array_equal(curve["ci_high"], band.iloc[:, 1].to_numpy())
    assert np.array_equal(curve["at_risk"], expected.event_table["at_risk"].to_numpy())


def test_km_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        km_curve([1, 2, 3], [1, 0])
    with pytest.raises(ValueError, match=">= 0"):
        km_curve([1, -2], [1, 0])
    with pytest.raises(ValueError, match="0/1"):
        km_curve([1, 2], [1, 2])
    with pytest.raises(ValueError, match="at least one"):
        km_curve([], [])


def test_logrank_separates_different_hazards():
    rng = np.random.default_rng(11)
    a = exponential_sample(rng, 1_000, 0.03)
    b = exponential_sample(rng, 1_000, 0.06)
    result = logrank(*a, *b)
    assert result["p_value"] < 1e-6 and result["statistic"] > 20
    assert logrank(*a, *a)["p_value"] == pytest.approx(1.0)


@pytest.mark.slow
def test_logrank_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(12)
    p_values = np.array(
        [
            logrank(*exponential_sample(rng, 120, 0.05), *exponential_sample(rng, 120, 0.05))[
                "p_value"
            ]
            for _ in range(200)
        ]
    )
    assert 0.01 <= (p_values < 0.05).mean() <= 0.10
    assert stats.kstest(p_values, "uniform").pvalue > 0.01


def test_rmst_of_exponential_matches_the_formula():
    rng = np.random.default_rng(21)
    tau = 40.0
    fast, slow = 0.06, 0.03
    a = exponential_sample(rng, 4_000, slow)
    b = exponential_sample(rng, 4_000, fast)
    result = rmst_difference(*a, *b, tau=tau)
    for key, rate in (("rmst_a", slow), ("rmst_b", fast)):
        assert result[key] == pytest.approx((1 - np.exp(-rate * tau)) / rate, abs=4 * result["se"])
    assert result["difference"] == pytest.approx(result["rmst_a"] - result["rmst_b"])
    assert result["difference"] > 0 and result["ci_low"] > 0 and result["p_value"] < 1e-6
    assert result["ci_low"] < result["difference"] < result["ci_high"]
    same = rmst_difference(*a, *a, tau=tau)
    assert same["difference"] == 0.0 and same["p_value"] == pytest.approx(1.0)


@pytest.mark.slow
def test_rmst_standard_error_matches_the_spread_over_samples():
    """The Greenwood-type SE of the difference agrees with its spread over repeated samples."""
    rng = np.random.default_rng(22)
    tau = 30.0
    runs = [
        rmst_difference(
            *exponential_sample(rng, 300, 0.05), *exponential_sample(rng, 300, 0.05), tau=tau
        )
        for _ in range(150)
    ]
    spread = np.std([r["difference"] for r in runs], ddof=1)
    mean_se = np.mean([r["se"] for r in runs])
    assert mean_se == pytest.approx(spread, rel=0.2)
    covered = np.mean([r["ci_low"] <= 0 <= r["ci_high"] for r in runs])
    assert covered >= 0.88


def test_rmst_needs_a_positive_tau():
    with pytest.raises(ValueError, match="tau"):
        rmst_difference([1, 2], [1, 1], [1, 2], [1, 0], tau=0)


def planted_cox_frame(seed: int, n: int) -> pd.DataFrame:
    """Hazard 0.02 · exp(0.7 x + effect of level), levels a (reference), b (+0.5), c (−0.4)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    level = rng.integers(0, 3, n)
    treated = rng.random(n) < 0.5
    log_hazard = np.log(0.02) + 0.7 * x + np.array([0.0, 0.5, -0.4])[level] - 0.3 * treated
    lifetimes = rng.exponential(np.exp(-log_hazard))
    censor = rng.uniform(20, 120, n)
    return pd.DataFrame(
        {
            "duration": np.minimum(lifetimes, censor),
            "event": lifetimes <= censor,
            "x": x,
            "level": np.array(["a", "b", "c"])[level],
            "treated": treated,
            "constant": 1.0,
        }
    )


PLANTED = {"x": 0.7, "level[b]": 0.5, "level[c]": -0.4, "treated": -0.3}


@pytest.mark.slow
def test_cox_recovers_planted_hazard_ratios():
    frame = planted_cox_frame(31, 20_000)
    table = cox_hazard_ratios(
        frame, "duration", "event", ["x", "level", "treated", "constant"], max_rows=20_000
    )
    assert list(table["covariate"]) == ["x", "level[b]", "level[c]", "treated", "constant"]
    assert (table["n_used"] == 20_000).all()
    fitted = table.set_index("covariate")
    for name, beta in PLANTED.items():
        assert np.log(fitted.loc[name, "hazard_ratio"]) == pytest.approx(beta, abs=0.06)
        assert fitted.loc[name, "ci_low"] < fitted.loc[name, "hazard_ratio"]
        assert fitted.loc[name, "hazard_ratio"] < fitted.loc[name, "ci_high"]
        assert fitted.loc[name, "p_value"] < 1e-6
    assert fitted.loc["constant"].drop("n_used").isna().all()


def test_cox_fits_a_seeded_sample_of_a_big_frame():
    frame = planted_cox_frame(32, 24_000)
    kwargs = dict(covariates=["x", "treated"], max_rows=6_000)
    first = cox_hazard_ratios(frame, "duration", "event", seed=1, **kwargs)
    assert (first["n_used"] == 6_000).all()
    pd.testing.assert_frame_equal(
        first, cox_hazard_ratios(frame, "duration", "event", seed=1, **kwargs)
    )
    other = cox_hazard_ratios(frame, "duration", "event", seed=2, **kwargs)
    assert not np.allclose(first["hazard_ratio"], other["hazard_ratio"])
    for table in (first, other):
        fitted = table.set_index("covariate")["hazard_ratio"]
        assert np.log(fitted["x"]) == pytest.approx(0.7, abs=0.1)


def test_cox_categorical_numbers_are_one_hot():
    frame = planted_cox_frame(33, 5_000).assign(code=lambda f: f["level"].map({"a": 0, "b": 1}))
    frame["code"] = frame["code"].fillna(2).astype(int)
    table = cox_hazard_ratios(frame, "duration", "event", ["code"], categorical=["code"])
    assert list(table["covariate"]) == ["code[1]", "code[2]"]


def test_cox_names_missing_columns():
    frame = planted_cox_frame(34, 100)
    with pytest.raises(ValueError, match="'nope'"):
        cox_hazard_ratios(frame, "duration", "event", ["x", "nope"])
    with pytest.raises(ValueError, match="'days'"):
        cox_hazard_ratios(frame, "days", "event", ["x"])
    with pytest.raises(ValueError, match="not among the covariates"):
        cox_hazard_ratios(frame, "duration", "event", ["x"], categorical=["level"])


def test_a_poorly_converging_cox_fit_is_reported_once_in_the_projects_words() -> None:
    rng = np.random.default_rng(0)
    n = 400
    separating = rng.integers(0, 2, n)  # churned exactly when 1: complete separation
    frame = pd.DataFrame({"days": rng.uniform(1, 50, n), "churned": separating.astype(bool),
                          "x": separating, "z": rng.normal(size=n)})  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cox_hazard_ratios(frame, "days", "churned", ["x", "z"], penalizer=0.0)
    categories = [w.category for w in caught]
    assert categories == [SiyuWarning]
    message = str(caught[0].message)
    assert message.startswith("Cox model") and "\n" not in message and "log-rank" in message
