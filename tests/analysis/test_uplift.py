"""Ground-truth uplift: true per-user effects, the T-learner estimate and Qini curves.

True effects are checked against worlds whose difference is known (a world against an identical
rerun of itself: exactly zero; hand-built tables); the estimate against synthetic data with a
planted heterogeneous effect; Qini curves against their defining properties (the oracle bounds
every score at every point, random targeting follows the diagonal on average, ties are linear).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingRegressor

from sim.analysis.uplift import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    ab_split,
    estimate_uplift,
    plot_qini,
    pretreatment_features,
    qini_coefficient,
    qini_curve,
    true_effects,
    uplift_curves,
)

OUTCOMES = ("net_value", "revenue", "churned", "purchases", "final_stage", "churn_day")


@pytest.fixture(scope="module")
def worlds(make_config, run_world, make_blanket) -> dict[str, pd.DataFrame]:
    """Users tables of a control world, an identical rerun, and a blanket arm (same seed).

    60 days: purchases need intent and a buying occasion (MODEL.md §5.5d), so 40 days of a
    2,000-user world hold too few for a T-learner to find who gains."""
    cfg = make_config(days=60, users=2_000)
    return {
        "control": run_world(cfg)["users"],
        "rerun": run_world(cfg)["users"],
        "arm": run_world(cfg, [make_blanket()])["users"],
    }


def _fast_regressor() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=60, min_samples_leaf=30, random_state=0)


# -- true effects -------------------------------------------------------------------------------
def test_identical_worlds_have_exactly_zero_effect(worlds) -> None:
    effects = true_effects(worlds["control"], worlds["rerun"])
    assert len(effects) > 0
    for m in ("net_value", "revenue", "churned"):
        assert (effects[f"effect_{m}"] == 0.0).all()
    assert effects.attrs["only_in_control"] == effects.attrs["only_in_arm"] == 0


def test_effects_are_arm_minus_control_for_users_in_both_worlds() -> None:
    control = pd.DataFrame({
        "user_id": [1, 2, 3, 4, 5], "referrer_id": [-1, -1, -1, -1, 1],
        "net_value": [10.0, 0.0, 5.0, 1.0, 7.0], "churned": [False, True, False, True, False],
    })  # fmt: skip
    arm = pd.DataFrame({
        "user_id": [6, 4, 3, 1, 7], "referrer_id": [3, -1, -1, -1, -1],
        "net_value": [9.0, 4.0, 2.0, 12.5, 3.0], "churned": [True, False, True, False, False],
    })  # fmt: skip
    effects = true_effects(control, arm, ["net_value", "churned"])
    assert effects["user_id"].tolist() == [1, 3, 4]  # control order; 2 has no arm twin
    assert effects["effect_net_value"].tolist() == [2.5, -3.0, 3.0]
    assert effects["effect_churned"].tolist() == [0.0, 1.0, -1.0]
    assert effects.attrs == {
        "users_compared": 3, "referred_excluded_control": 1, "referred_excluded_arm": 1,
        "only_in_control": 1, "only_in_arm": 1,
    }  # fmt: skip


def test_referred_arrivals_are_excluded_from_a_real_comparison(worlds) -> None:
    control, arm = worlds["control"], worlds["arm"]
    effects = true_effects(control, arm)
    referred = set(control.loc[control["referrer_id"] >= 0, "user_id"]) | set(
        arm.loc[arm["referrer_id"] >= 0, "user_id"]
    )
    assert not referred & set(effects["user_id"])
    base = set(control.loc[control["referrer_id"] < 0, "user_id"])
    assert set(effects["user_id"]) == base  # every non-referred user exists in both worlds


def test_true_effects_errors_name_the_missing_column() -> None:
    frame = pd.DataFrame({"user_id": [1], "net_value": [1.0]})
    with pytest.raises(ValueError, match="arm_users lacks column.*revenue"):
        true_effects(frame.assign(revenue=1.0), frame, ["net_value", "revenue"])


# -- features -----------------------------------------------------------------------------------
def test_pretreatment_features_ignore_outcomes_and_keep_row_order(worlds) -> None:
    users = worlds["arm"]
    feats = pretreatment_features(users)
    assert list(feats.index) == users["user_id"].tolist()
    assert not any(col.split("=")[0] in OUTCOMES for col in feats.columns)
    for name, categories in CATEGORICAL_FEATURES.items():
        onehot = feats[[f"{name}={c}" for c in categories]].to_numpy()
        assert (onehot.sum(axis=1) == 1).all()
    scrambled = users.copy()
    rng = np.random.default_rng(0)
    for col in ("net_value", "revenue", "purchases", "churn_day"):
        scrambled[col] = rng.permutation(scrambled[col].to_numpy())
    pd.testing.assert_frame_equal(pretreatment_features(scrambled), feats)
    assert set(NUMERIC_FEATURES) <= set(feats.columns)


def test_pretreatment_features_reject_unknown_categories(worlds) -> None:
    users = worlds["control"].head(3).copy()
    users["channel"] = users["channel"].astype(str)
    users.loc[users.index[0], "channel"] = "billboard"
    with pytest.raises(ValueError, match="users.channel.*billboard"):
        pretreatment_features(users)


# -- estimate -----------------------------------------------------------------------------------
def _planted(
    n: int = 3_000, seed: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    tau = 2.0 * (x[:, 0] > 0) + x[:, 1]
    y0 = x[:, 2] + rng.normal(scale=0.5, size=n)
    y1 = y0 + tau + rng.normal(scale=0.5, size=n)
    return x, y1, y0, tau


def test_estimate_recovers_a_planted_heterogeneous_effect() -> None:
    x, y1, y0, tau = _planted()
    est = estimate_uplift(x, y1, y0, seed=5, regressor=_fast_regressor)
    assert np.corrcoef(est, tau)[0, 1] > 0.6
    assert abs(est.mean() - tau.mean()) < 0.25  # average effect recovered too


def test_estimate_is_deterministic_and_never_reads_unobserved_outcomes() -> None:
    x, y1, y0, _ = _planted(1_500)
    est = estimate_uplift(x, y1, y0, seed=9, regressor=_fast_regressor)
    assert np.array_equal(est, estimate_uplift(x, y1, y0, seed=9, regressor=_fast_regressor))
    assert not np.array_equal(est, estimate_uplift(x, y1, y0, seed=10, regressor=_fast_regressor))
    treated, fold = ab_split(len(y1), seed=9)
    assert 0.45 < treated.mean() < 0.55 and np.ptp(np.bincount(fold)) <= 1
    noise = np.random.default_rng(3).normal(scale=100.0, size=len(y1))
    y1_other = np.where(treated, y1, y1 + noise)  # counterfactuals a real team never sees
    y0_other = np.where(treated, y0 - noise, y0)
    assert np.array_equal(
        est, estimate_uplift(x, y1_other, y0_other, seed=9, regressor=_fast_regressor)
    )


def test_estimate_rejects_bad_inputs() -> None:
    x, y1, y0, _ = _planted(100)
    with pytest.raises(ValueError, match="n_folds"):
        estimate_uplift(x, y1, y0, seed=0, n_folds=1)
    with pytest.raises(ValueError, match="one value per feature row"):
        estimate_uplift(x, y1[:-1], y0, seed=0)


# -- Qini ---------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    effects=st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    data=st.data(),
)
def test_oracle_curve_dominates_any_score_at_every_point(effects: list[int], data) -> None:
    effect = np.array(effects, dtype=float)
    score = np.array(data.draw(st.lists(st.integers(0, 4), min_size=len(effects),
                                        max_size=len(effects))), dtype=float)  # fmt: skip
    oracle = qini_curve(effect, effect)["cumulative_gain"].to_numpy()
    other = qini_curve(effect, score)
    gain = other["cumulative_gain"].to_numpy()
    assert (oracle >= gain - 1e-12).all()
    assert gain[0] == 0.0 and other["fraction_targeted"].iloc[0] == 0.0
    assert gain[-1] == pytest.approx(effect.mean()) and oracle[-1] == pytest.approx(effect.mean())
    assert qini_coefficient(qini_curve(effect, effect)) >= qini_coefficient(other) - 1e-12


def test_random_targeting_follows_the_diagonal_on_average() -> None:
    rng = np.random.default_rng(11)
    effect = rng.normal(1.0, 3.0, size=200)
    curves = [qini_curve(effect, rng.random(200))["cumulative_gain"].to_numpy() for _ in range(400)]
    mean = np.mean(curves, axis=0)
    diagonal = np.linspace(0.0, 1.0, 201) * effect.mean()
    # sd of one curve at k users is at most sqrt(n/4)*sd/n ~ 0.106; of the mean of 400 ~ 0.0053
    assert np.abs(mean - diagonal).max() < 0.03
    fraction = np.linspace(0.0, 1.0, 201)
    coefficients = [
        qini_coefficient(pd.DataFrame({"fraction_targeted": fraction, "cumulative_gain": c}))
        for c in curves
    ]
    assert abs(np.mean(coefficients)) < 0.01


def test_tied_scores_give_the_straight_line_and_known_area() -> None:
    effect = np.array([1.0, 0.0, 0.0, 0.0])
    flat = qini_curve(effect, np.zeros(4))
    assert np.allclose(flat["cumulative_gain"], flat["fraction_targeted"] * 0.25)
    assert qini_coefficient(flat) == pytest.approx(0.0, abs=1e-15)
    best = qini_curve(effect, effect)
    assert best["cumulative_gain"].tolist() == [0.0, 0.25, 0.25, 0.25, 0.25]
    # area between (0,0)-(.25,.25)-(1,.25) and the line to (1,.25): 0.25 * 0.75 / 2
    assert qini_coefficient(best) == pytest.approx(0.09375)


def test_qini_rejects_mismatched_or_missing_values() -> None:
    with pytest.raises(ValueError, match="equal length"):
        qini_curve(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        qini_curve(np.zeros(2), np.array([0.0, np.nan]))


def test_simulated_arm_curves_and_plot(worlds, tmp_path: Path) -> None:
    """Blanket (a promo a day) against none on 2,000 users × 60 days.

    The oracle bounds the model's and the random curve at every point, for net value and for
    purchases. The T-learner is judged against the distribution of random orderings, not one:
    a single random ordering's net-value Qini varies by about ±1.1 (its sd over orderings) while
    the model's is 0.4-1.8 (seeds 2 and 3, on this world and on the world before issue 15) of an
    oracle's ~9. Only ~130 users' purchases differ between the two worlds and their prices span
    the ladder, so the net-value ranking is within the noise of random targeting; asserting it
    beat one permutation was a coin toss. Purchases carry the heterogeneity the model can learn
    from pre-treatment features (who buys when promoted): there its Qini beats the 95th
    percentile of 200 random orderings (z 2.4-2.9 on both worlds) — a one-sided permutation test
    at 5%."""
    curves = uplift_curves(worlds["control"], worlds["arm"], "net_value", seed=2)
    oracle = curves["by true effect"]["cumulative_gain"].to_numpy()
    for name in ("by model estimate", "random"):
        assert (oracle >= curves[name]["cumulative_gain"].to_numpy() - 1e-9).all(), name
    path = plot_qini(curves, tmp_path / "qini" / "blanket.png", title="blanket vs none")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    buying = uplift_curves(worlds["control"], worlds["arm"], "purchases", seed=2)
    oracle = buying["by true effect"]["cumulative_gain"].to_numpy()
    assert (oracle >= buying["by model estimate"]["cumulative_gain"].to_numpy() - 1e-9).all()
    effect = true_effects(worlds["control"], worlds["arm"], ["purchases"])["effect_purchases"]
    rng = np.random.default_rng(7)
    random_qini = [
        qini_coefficient(qini_curve(effect.to_numpy(), rng.random(len(effect)))) for _ in range(200)
    ]
    assert qini_coefficient(buying["by model estimate"]) > np.quantile(random_qini, 0.95)
