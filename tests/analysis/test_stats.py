"""Tests for sim.analysis.stats: calibration under the null, power at the MDE, known small cases.

All data are synthetic (seeded ``np.random.default_rng``); nothing here runs the simulator.
Calibration checks use the module's own :func:`false_positive_rate` / :func:`detection_rate`:
the observed rejection rate over ~2,000 experiments must have the nominal rate inside its 99%
Clopper–Pearson interval.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from sim.analysis.stats import (
    Estimate,
    adjust_pvalues,
    detection_rate,
    false_positive_rate,
    mde,
    mean_band,
    paired_difference,
    paired_difference_band,
    paired_user_difference,
    power_of,
    replications_needed,
    unpaired_difference,
    within_world_difference,
)

ALPHA = 0.05
EXPERIMENTS = 2_000
N_CLUSTERS = 40
CLUSTER_SIZE = 10


def clustered_world(rng: np.random.Generator, cluster_sd: float = 1.0):
    """One null world: 40 clusters of 10 users, half the clusters treated, strong cluster effect.

    Intra-cluster correlation is ``cluster_sd² / (cluster_sd² + 1)`` = 0.5 by default, so the
    design effect of the user-level test is 1 + 9·0.5 = 5.5.
    """
    labels = np.repeat(np.arange(N_CLUSTERS), CLUSTER_SIZE)
    treated_clusters = np.zeros(N_CLUSTERS, dtype=bool)
    treated_clusters[rng.permutation(N_CLUSTERS)[: N_CLUSTERS // 2]] = True
    values = rng.normal(0.0, cluster_sd, N_CLUSTERS)[labels] + rng.normal(size=labels.size)
    return values, treated_clusters[labels], labels


@pytest.fixture(scope="module")
def clustered_null_pvalues() -> dict[str, np.ndarray]:
    """P-values of the cluster-robust and the naive user-level test on the same null worlds."""
    rng = np.random.default_rng(41)
    robust, naive = [], []
    for _ in range(EXPERIMENTS):
        values, treated, labels = clustered_world(rng)
        robust.append(within_world_difference(values, treated, clusters=labels).p_value)
        naive.append(within_world_difference(values, treated).p_value)
    return {"robust": np.array(robust), "naive": np.array(naive)}


# --- null calibration -------------------------------------------------------------------------


def test_paired_difference_is_calibrated_under_the_null():
    rng = np.random.default_rng(1)
    pvalues = []
    for _ in range(EXPERIMENTS):
        shared = rng.normal(0.0, 3.0, 10)  # luck common to both arms of a replication (CRN)
        treatment = shared + rng.normal(size=10)
        control = shared + rng.normal(size=10)
        pvalues.append(paired_difference(treatment, control).p_value)
    check = false_positive_rate(pvalues, ALPHA)
    assert check["n"] == EXPERIMENTS
    assert check["consistent"], check


def test_unpaired_difference_is_calibrated_with_unequal_variances_and_sizes():
    rng = np.random.default_rng(2)
    pvalues = [
        unpaired_difference(rng.normal(5.0, 1.0, 8), rng.normal(5.0, 3.0, 13)).p_value
        for _ in range(EXPERIMENTS)
    ]
    assert false_positive_rate(pvalues, ALPHA)["consistent"]


def test_user_level_within_world_difference_is_calibrated_on_independent_users():
    rng = np.random.default_rng(3)
    pvalues = []
    for _ in range(EXPERIMENTS):
        treated = rng.random(200) < 0.3
        values = rng.exponential(2.0, 200)  # skewed outcomes, like revenue
        pvalues.append(within_world_difference(values, treated).p_value)
    assert false_positive_rate(pvalues, ALPHA)["consistent"]


def test_cluster_robust_within_world_difference_is_calibrated_on_clustered_users(
    clustered_null_pvalues,
):
    check = false_positive_rate(clustered_null_pvalues["robust"], ALPHA)
    assert check["consistent"], check


def test_naive_user_level_test_is_anti_conservative_on_clustered_users(clustered_null_pvalues):
    naive = false_positive_rate(clustered_null_pvalues["naive"], ALPHA)
    robust = false_positive_rate(clustered_null_pvalues["robust"], ALPHA)
    assert naive["ci_low"] > 2 * ALPHA, naive  # design effect 5.5: roughly 40% false positives
    assert naive["rate"] > robust["ci_high"]


def test_cluster_robust_paired_user_difference_is_calibrated_on_clustered_differences():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(N_CLUSTERS), CLUSTER_SIZE)
    pvalues = []
    for _ in range(EXPERIMENTS):
        control = rng.normal(size=labels.size)
        shift = rng.normal(0.0, 1.0, N_CLUSTERS)[labels] + rng.normal(size=labels.size)
        pvalues.append(paired_user_difference(control + shift, control, clusters=labels).p_value)
    assert false_positive_rate(pvalues, ALPHA)["consistent"]


# --- power ------------------------------------------------------------------------------------


def test_effect_planted_at_the_mde_is_detected_at_the_stated_power():
    rng = np.random.default_rng(5)
    replications, sd = 10, 1.5
    effect = mde(sd / math.sqrt(replications), alpha=ALPHA, power=0.8, df=replications - 1)
    pvalues = []
    for _ in range(EXPERIMENTS):
        control = rng.normal(100.0, 4.0, replications)
        treatment = control + effect + rng.normal(0.0, sd, replications)
        pvalues.append(paired_difference(treatment, control).p_value)
    check = detection_rate(pvalues, ALPHA, power=0.8)
    assert check["nominal"] == 0.8
    assert check["consistent"], check


def test_mde_and_power_of_are_inverses_and_match_the_normal_formula():
    se = 0.37
    for df in (None, 2, 9, 60):
        effect = mde(se, power=0.9, df=df)
        assert power_of(effect, se, df=df) == pytest.approx(0.9, abs=1e-8)
        assert power_of(-effect, se, df=df) == pytest.approx(0.9, abs=1e-8)  # two-sided
    textbook = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se
    assert mde(se) == pytest.approx(textbook, rel=1e-5)  # far tail is negligible at 80% power
    assert mde(se, df=5) > mde(se, df=50) > mde(se)  # estimating se costs power
    assert power_of(0.0, se) == pytest.approx(ALPHA)
    assert power_of(0.0, se, df=4) == pytest.approx(ALPHA)


def test_power_grows_with_effect():
    powers = [power_of(effect, 1.0, df=9) for effect in (0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(powers, powers[1:], strict=False))


def test_replications_needed_is_the_smallest_n_reaching_the_power():
    for effect, sd in ((0.5, 1.0), (2.0, 1.0), (1.0, 3.0)):
        n = replications_needed(effect, sd, power=0.8)
        assert power_of(effect, sd / math.sqrt(n), df=n - 1) >= 0.8
        if n > 2:
            assert power_of(effect, sd / math.sqrt(n - 1), df=n - 2) < 0.8
        normal_n = ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sd / effect) ** 2
        assert n >= normal_n  # t needs at least as many as the normal approximation
    assert replications_needed(1.0, 0.0) == 2


# --- pairing ----------------------------------------------------------------------------------


def test_paired_interval_is_narrower_than_unpaired_on_correlated_pairs():
    rng = np.random.default_rng(6)
    shared = rng.normal(0.0, 5.0, 20)
    treatment = shared + 0.5 + rng.normal(size=20)
    control = shared + rng.normal(size=20)
    paired = paired_difference(treatment, control)
    unpaired = unpaired_difference(treatment, control)
    assert paired.estimate == pytest.approx(unpaired.estimate)  # same point estimate
    assert paired.ci_high - paired.ci_low < unpaired.ci_high - unpaired.ci_low
    assert paired.se < unpaired.se


# --- known small cases ------------------------------------------------------------------------


def test_paired_difference_hand_example():
    control = np.array([10.0, 20.0, 30.0])
    treatment = control + np.array([1.0, 2.0, 3.0])
    result = paired_difference(treatment, control)
    # differences 1, 2, 3: mean 2, sd 1, se 1/√3, t = 2√3 on 2 df
    se = 1.0 / math.sqrt(3.0)
    assert result.estimate == pytest.approx(2.0)
    assert result.se == pytest.approx(se)
    assert result.df == 2 and result.n == 3
    assert result.p_value == pytest.approx(2 * stats.t.sf(2 * math.sqrt(3.0), 2))
    half_width = stats.t.ppf(0.975, 2) * se  # 4.3027 / 1.7321 = 2.4841
    assert result.ci_low == pytest.approx(2.0 - half_width)
    assert result.ci_high == pytest.approx(2.0 + half_width)
    reference = stats.ttest_rel(treatment, control)
    assert result.p_value == pytest.approx(reference.pvalue)
    low, high = reference.confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_unpaired_difference_matches_scipy_welch():
    rng = np.random.default_rng(7)
    treatment, control = rng.normal(1.0, 1.0, 9), rng.normal(0.0, 2.5, 15)
    result = unpaired_difference(treatment, control, alpha=0.1)
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.estimate == pytest.approx(treatment.mean() - control.mean())
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.df == pytest.approx(reference.df)
    low, high = reference.confidence_interval(0.9)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_cluster_robust_se_matches_the_cr1_sandwich_formula():
    rng = np.random.default_rng(8)
    values, treated, labels = clustered_world(rng)
    result = within_world_difference(values, treated, clusters=labels)
    design = np.column_stack([np.ones(values.size), treated.astype(float)])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residuals = values - design @ coef
    bread = np.linalg.inv(design.T @ design)
    scores = np.stack([np.bincount(labels, weights=design[:, k] * residuals) for k in range(2)])
    n, g = values.size, N_CLUSTERS
    covariance = g / (g - 1) * (n - 1) / (n - 2) * bread @ (scores @ scores.T) @ bread
    assert result.estimate == pytest.approx(coef[1])
    assert result.se == pytest.approx(math.sqrt(covariance[1, 1]))
    assert result.df == g - 1
    assert result.method == "cluster-robust OLS (CR1)"


def test_singleton_clusters_give_the_hc1_standard_error():
    rng = np.random.default_rng(9)
    values, treated = rng.normal(size=50), rng.random(50) < 0.5
    result = within_world_difference(values, treated, clusters=np.arange(50))
    design = np.column_stack([np.ones(50), treated.astype(float)])
    hc1 = sm.OLS(values, design).fit(cov_type="HC1").bse[1]
    assert result.se == pytest.approx(hc1)


def test_cluster_labels_may_be_strings():
    values = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 9.0])
    treated = np.array([0, 0, 1, 1, 0, 1])
    by_int = within_world_difference(values, treated, clusters=[0, 0, 1, 1, 2, 2])
    by_str = within_world_difference(values, treated, clusters=["a", "a", "b", "b", "c", "c"])
    assert by_int == by_str


def test_cluster_robust_paired_user_difference_hand_example():
    differences = np.array([1.0, 1.0, 3.0, 3.0, 5.0])
    labels = np.array(["a", "a", "b", "b", "c"])
    result = paired_user_difference(differences + 7.0, np.full(5, 7.0), clusters=labels)
    # mean 13/5 = 2.6; cluster sums 2, 6, 5 of sizes 2, 2, 1; residual sums -3.2, 0.8, 2.4;
    # se² = 3/2 · (10.24 + 0.64 + 5.76) / 25 = 0.9984
    assert result.estimate == pytest.approx(2.6)
    assert result.se == pytest.approx(math.sqrt(0.9984))
    assert result.df == 2
    intercept_only = sm.OLS(differences, np.ones(5)).fit(
        cov_type="cluster", cov_kwds={"groups": np.array([0, 0, 1, 1, 2])}
    )
    assert result.se == pytest.approx(intercept_only.bse[0])


def test_paired_user_difference_without_clusters_is_a_paired_t():
    rng = np.random.default_rng(10)
    control = rng.normal(size=30)
    treatment = control + rng.normal(0.2, 1.0, 30)
    users = paired_user_difference(treatment, control)
    replications = paired_difference(treatment, control)
    assert users.to_dict() | {"method": ""} == replications.to_dict() | {"method": ""}


def test_identical_arms_give_zero_difference_and_p_one():
    values = np.array([3.0, 1.5, 8.25, 4.0])
    for result in (
        paired_difference(values, values),
        paired_user_difference(values, values),
        paired_user_difference(values, values, clusters=[0, 0, 1, 1]),
    ):
        assert (result.estimate, result.se, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0, 0.0)
        assert result.p_value == 1.0


def test_constant_nonzero_difference_is_certain():
    result = paired_difference([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert (result.estimate, result.se, result.ci_low, result.ci_high) == (1.0, 0.0, 1.0, 1.0)
    assert result.p_value == 0.0


def test_too_few_observations_give_nan_not_an_exception():
    single = paired_difference([5.0], [3.0])
    assert single.estimate == 2.0 and single.n == 1
    assert all(math.isnan(x) for x in (single.se, single.ci_low, single.ci_high, single.p_value))
    assert math.isnan(paired_difference([], []).estimate)
    assert math.isnan(unpaired_difference([1.0, 2.0], [3.0]).p_value)
    assert math.isnan(within_world_difference([1.0, 2.0], [1, 0], clusters=[0, 0]).se)
    empty_arm = within_world_difference([1.0, 2.0, 3.0], [0, 0, 0])
    assert math.isnan(empty_arm.estimate) and math.isnan(empty_arm.p_value)
    assert math.isnan(mde(single.se))
    assert math.isnan(power_of(1.0, single.se))


def test_estimate_to_dict_has_every_field():
    result = paired_difference([1.0, 2.0, 4.0], [0.0, 0.0, 0.0])
    as_dict = result.to_dict()
    assert set(as_dict) == {"estimate", "se", "ci_low", "ci_high", "p_value", "n", "df", "method"}
    assert Estimate(**as_dict) == result


# --- multiple testing -------------------------------------------------------------------------


def test_holm_and_bh_on_a_hand_example():
    pvalues = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005, 0.01, 0.03, 0.04 (m = 4)
    # Holm: 4·0.005 = 0.02, 3·0.01 = 0.03, 2·0.03 = 0.06, 1·0.04 = 0.04 -> running max
    #       0.02, 0.03, 0.06, 0.06 -> original order [0.03, 0.06, 0.06, 0.02]
    # BH:   0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04 -> running min
    #       from the top: 0.02, 0.02, 0.04, 0.04 -> original order [0.02, 0.04, 0.04, 0.02]
    np.testing.assert_allclose(adjust_pvalues(pvalues, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(pvalues, "bh"), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(adjust_pvalues(pvalues, "none"), pvalues)


def test_nan_pvalues_pass_through_and_do_not_count():
    pvalues = [0.01, float("nan"), 0.04, 0.03, 0.005]
    holm = adjust_pvalues(pvalues, "holm")
    assert math.isnan(holm[1])
    np.testing.assert_allclose(holm[[0, 2, 3, 4]], [0.03, 0.06, 0.06, 0.02])  # family of 4
    assert np.isnan(adjust_pvalues([float("nan")] * 3, "bh")).all()
    assert adjust_pvalues(np.array([[0.01, 0.02]]), "bh").shape == (1, 2)


def test_adjustment_never_lowers_a_pvalue():
    pvalues = np.random.default_rng(11).random(25) ** 3
    for method in ("holm", "bh"):
        adjusted = adjust_pvalues(pvalues, method)
        assert (adjusted >= pvalues).all() and (adjusted <= 1.0).all()
    assert (adjust_pvalues(pvalues, "holm") >= adjust_pvalues(pvalues, "bh")).all()


def test_bad_adjustment_method_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'bonferoni'.*'holm', 'bh', 'none'"):
        adjust_pvalues([0.1, 0.2], "bonferoni")


def test_pvalues_outside_unit_interval_are_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2], "holm")


# --- calibration helpers ----------------------------------------------------------------------


def test_false_positive_rate_uses_the_exact_interval():
    pvalues = np.r_[np.full(7, 0.01), np.full(93, 0.5), [np.nan]]
    check = false_positive_rate(pvalues, 0.05, tolerance_level=0.99)
    assert check["n"] == 100 and check["rate"] == 0.07
    # Clopper–Pearson: beta quantiles at (1 ∓ 0.99)/2
    assert check["ci_low"] == pytest.approx(stats.beta.ppf(0.005, 7, 94))
    assert check["ci_high"] == pytest.approx(stats.beta.ppf(0.995, 8, 93))
    assert check["consistent"] and check["nominal"] == 0.05
    too_many = false_positive_rate(np.r_[np.full(30, 0.01), np.full(70, 0.5)], 0.05)
    assert not too_many["consistent"]


def test_detection_rate_compares_with_the_stated_power():
    pvalues = np.r_[np.full(80, 0.001), np.full(20, 0.6)]
    assert detection_rate(pvalues, power=0.8)["consistent"]
    assert not detection_rate(pvalues, power=0.99)["consistent"]


# --- bad input --------------------------------------------------------------------------------


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="treatment must be finite.*positions \\[1\\]"):
        paired_difference([1.0, float("nan"), 2.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="alpha"):
        paired_difference([1.0, 2.0], [1.0, 1.0], alpha=1.5)
    with pytest.raises(ValueError, match="treated"):
        within_world_difference([1.0, 2.0], [0, 2])
    with pytest.raises(ValueError, match="clusters has 1 missing"):
        within_world_difference([1.0, 2.0, 3.0], [0, 1, 1], clusters=["a", None, "b"])
    with pytest.raises(ValueError, match="power must exceed alpha"):
        mde(1.0, alpha=0.1, power=0.05)
    with pytest.raises(ValueError, match="se must be"):
        power_of(1.0, -1.0)
    with pytest.raises(ValueError, match="effect must be"):
        replications_needed(0.0, 1.0)


def test_paired_difference_band_agrees_with_paired_difference_column_by_column():
    rng = np.random.default_rng(7)
    treatment = rng.normal(1.0, 1.0, size=(5, 12))
    control = treatment - rng.normal(0.3, 0.5, size=(5, 12))
    treatment[3, 4] = np.nan  # column 4 observed in 4 replications only
    control[:4, 7] = np.nan  # column 7 observed once: no interval
    control[:, 9] = treatment[:, 9] - 2.0  # identical differences: degenerate interval
    band = paired_difference_band(treatment, control, alpha=0.1)
    for j in range(12):
        ok = np.isfinite(treatment[:, j]) & np.isfinite(control[:, j])
        one = paired_difference(treatment[ok, j], control[ok, j], alpha=0.1)
        assert band.n[j] == one.n
        np.testing.assert_allclose(
            [band.estimate[j], band.ci_low[j], band.ci_high[j]],
            [one.estimate, one.ci_low, one.ci_high],
            equal_nan=True,
        )
    assert np.isnan(band.ci_low[7]) and band.ci_low[9] == band.ci_high[9] == -2.0 + 4.0


def test_mean_band_covers_the_mean_and_narrows_with_more_replications():
    rng = np.random.default_rng(3)
    few = mean_band(rng.normal(5.0, 1.0, size=(3, 50)))
    many = mean_band(rng.normal(5.0, 1.0, size=(30, 50)))
    assert np.all(few.ci_low <= few.estimate) and np.all(few.estimate <= few.ci_high)
    assert np.median(many.ci_high - many.ci_low) < np.median(few.ci_high - few.ci_low)
    with pytest.raises(ValueError, match="2-D"):
        mean_band(np.ones(4))
