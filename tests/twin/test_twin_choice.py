"""Model choice inside the calibration period, the weekly processes behind the twin's
interface (forecast, folder, intervals), the mean-matched spend model and the synthetic
cohort logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import parse_config
from sim.twin.choice import (
    MIN_GROUP_PURCHASES,
    MIN_GROUP_USERS,
    _winner,
    choose_process,
    group_errors,
    split_day,
)
from sim.twin.fit import fit_twin
from sim.twin.folder import load_twin, write_twin
from sim.twin.forecast import forecast
from sim.twin.model import GammaGamma
from sim.twin.population import twin_population
from sim.twin.processes import CANDIDATES, make_process
from sim.twin.rfm import to_day, user_statistics
from sim.twin.synthetic import GENERATORS, calibration_end, synthetic_log

CAL = calibration_end(39)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return synthetic_log("bgnbd", 1500, seed=4)


@pytest.fixture(scope="module")
def choice(cohort):
    return choose_process(cohort, CAL)


@pytest.mark.parametrize("kind", GENERATORS)
def test_synthetic_logs_have_a_cohort_shape(kind) -> None:
    events = synthetic_log(kind, 800, seed=1)
    stats = user_statistics(events, CAL)
    births = stats["n"].max() - stats["n"].min()
    assert len(stats) == 800 and births < 84  # acquired over 12 weeks
    assert 0.3 < (stats["x"] == 0).mean() < 0.9  # sparse repeaters
    assert stats["x"].sum() > 100


def test_the_choice_never_looks_past_the_calibration_end(cohort, choice) -> None:
    later = cohort[cohort["date"] > CAL].copy()
    later["amount"] = later["amount"] * 100
    changed = pd.concat([cohort[cohort["date"] <= CAL], later, later])  # a different holdout
    again = choose_process(changed, CAL)
    assert again.chosen == choice.chosen
    pd.testing.assert_frame_equal(again.table, choice.table)
    assert choice.split_day < choice.calibration_end
    assert to_day(choice.split_day) == split_day(cohort, CAL)
    assert set(choice.table["process"]) == set(CANDIDATES) - {"twin"}  # purchases only
    scores = choice.table.set_index("process")["score"]
    assert choice.chosen == "bgnbd" or scores[choice.chosen] < scores["bgnbd"]
    assert choice.reason


def test_the_reference_is_kept_unless_another_process_is_clearly_better() -> None:
    def table(score_b: float, se: float) -> pd.DataFrame:
        return pd.DataFrame({
            "process": ["bgnbd", "pareto_nbd"], "label": ["BG/NBD", "Pareto/NBD"],
            "score": [1.0, score_b], "mae": [0.5, 0.5], "total_error_pct": [0.0, 0.0],
            "margin_se": [np.nan, se],
        })  # fmt: skip

    assert _winner(table(0.99, 0.01), 100.0)[0] == "bgnbd"  # gain of 1 SE: noise
    assert _winner(table(0.95, 0.01), 100.0)[0] == "pareto_nbd"  # gain of 5 SE
    assert _winner(table(1.05, 0.01), 100.0)[0] == "bgnbd"  # worse


def _candidates(groups: dict[str, dict[str, float]], scores: dict[str, float]) -> pd.DataFrame:
    names = list(scores)
    return pd.DataFrame({
        "process": names, "label": names, "score": [scores[n] for n in names],
        "mae": 0.5, "total_error_pct": 0.0,
        "margin_se": [np.nan if n == "bgnbd" else 0.01 for n in names],
        "group_error_pct": [groups[n] for n in names],
    })  # fmt: skip


def test_a_candidate_that_wins_the_score_but_loses_a_group_bgnbd_keeps_is_not_chosen() -> None:
    keeps = {"0": 5.0, "1": -10.0, "2": 40.0}  # BG/NBD misses x = 2 itself
    twin_misses_1 = {"0": 1.0, "1": 75.0, "2": 10.0}
    pareto_misses_2 = {"0": 2.0, "1": 20.0, "2": 60.0}  # x = 2: BG/NBD is outside too
    table = _candidates(
        {"bgnbd": keeps, "twin": twin_misses_1, "pareto_nbd": pareto_misses_2},
        {"bgnbd": 1.0, "twin": 0.90, "pareto_nbd": 0.95},
    )
    chosen, reason = _winner(table, 100.0)
    assert chosen == "pareto_nbd"  # the next-best candidate that keeps BG/NBD's groups
    assert "twin was better on the score" in reason and "x=1 by +75%" in reason
    slight = _candidates({"bgnbd": keeps, "twin": keeps}, {"bgnbd": 1.0, "twin": 0.995})
    chosen, reason = _winner(slight, 100.0)  # 50 SE, but 0.5% of the score: immaterial
    assert chosen == "bgnbd" and "floor" in reason
    alone = table[table["process"] != "pareto_nbd"].reset_index(drop=True)
    chosen, reason = _winner(alone, 100.0)
    assert chosen == "bgnbd" and "missed group x=1" in reason


def test_validation_groups_are_judged_only_with_enough_users_and_purchases() -> None:
    x = np.repeat([0, 1, 2], [200, MIN_GROUP_USERS, MIN_GROUP_USERS - 1])
    actual = np.where(x == 0, 0.2, 1.0)  # x = 0: 40 purchase days; x = 1: 30; x = 2: 29 users
    forecast = np.where(x == 1, 1.5, actual)
    errors = group_errors(forecast, actual, x)
    assert set(errors) == {"0", "1"}
    assert errors["0"] == pytest.approx(0.0) and errors["1"] == pytest.approx(50.0)
    few = group_errors(forecast, np.where(x == 0, 0.05, actual), x)  # x = 0: 10 purchase days
    assert MIN_GROUP_PURCHASES > 200 * 0.05 and "0" not in few


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd", "mbgcnbd"])
def test_weekly_process_forecasts_agree_with_their_draws_and_order_intervals(cohort, name) -> None:
    stats = user_statistics(cohort, CAL)
    process = make_process(name).fit(stats)
    fc = forecast(process, None, stats, 91, seed=1, draws=400)
    expected = fc.users["expected_purchases"].to_numpy()
    rng = np.random.default_rng(5)
    drawn = process.draw_counts(stats, 91, rng, 400).mean(axis=1)
    # Monte Carlo of the alive posterior vs the closed form: same total within 5%
    assert drawn.sum() == pytest.approx(expected.sum(), rel=0.05)
    u = fc.users
    assert np.all(u["purchases_lo95"] <= u["expected_purchases"])
    assert np.all(u["expected_purchases"] <= u["purchases_hi95"])
    state = process.state(stats)
    assert np.all((state["p_buying"] >= 0) & (state["p_buying"] <= 1))


def test_a_twin_keeps_its_chosen_process_through_its_folder(cohort, choice, tmp_path) -> None:
    stats = user_statistics(cohort, CAL)
    fit = fit_twin(stats, CAL, choice=choice)
    assert fit.model.name == fit.choice.chosen
    folder = write_twin(fit, tmp_path / "twin", data={"users": len(stats)}, inputs={},
                        options={})  # fmt: skip
    twin = load_twin(folder)
    assert twin.model.name == fit.model.name
    before = fit.model.expected(stats, np.array([30, 91]))
    after = twin.model.expected(twin.users, np.array([30, 91]))
    np.testing.assert_allclose(after, before, rtol=1e-9)
    report = (folder / "fit_report.md").read_text(encoding="utf-8")
    assert "(chosen)" in report and fit.choice.chosen in report
    fc = forecast(twin.model, twin.spend, twin.users, 91, seed=2, draws=40)
    u = fc.users
    assert np.all(u["spend_lo95"] <= u["expected_spend"] + 1e-9)
    assert np.all(u["expected_spend"] <= u["spend_hi95"] + 1e-9)
    # the simulator's twin population takes the chosen process's state: everyone present
    # (purchases alone cannot tell leaving), the base churn, a finite purchase offset
    config = parse_config(
        {
            "name": "t",
            "seed": 1,
            "days": 10,
            "population": {"twin": str(folder), "arrivals_per_day": {}},
        },
        "<t>",
    )
    cols = twin_population(folder, config.population, config.world, config.seed)
    assert len(cols["churn_multiplier"]) == len(stats)
    assert np.all(cols["churn_multiplier"] == 1.0)
    assert np.all(np.isfinite(cols["buy_logit_offset"]))


def test_spend_on_a_price_ladder_matches_the_observed_mean_and_warns() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 5, 3000)
    course = rng.random(3000) < 0.1  # a few buyers of a ¥2,999 course among ¥9.9 camps
    mean = np.where(course, 2999.0 * rng.uniform(0.9, 1.1, 3000), 9.9 * rng.uniform(0.9, 1.1, 3000))
    model = GammaGamma().fit(x, mean)
    pop = model.population_summary()
    assert pop["mean_spend_per_purchase_day"] == pytest.approx(pop["observed_mean"], rel=0.05)
    assert model.constrained_ and model.warnings_
    spend = model.expected_spend(x, mean)
    assert np.all(np.isfinite(spend) & (spend > 0))


def test_a_well_behaved_spend_sample_gives_no_warning() -> None:
    rng = np.random.default_rng(1)
    nu = rng.gamma(4.0, 1 / 40.0, 4000)
    x = rng.integers(1, 6, 4000)
    mean = np.array([rng.gamma(6.0, 1 / n, k).mean() for n, k in zip(nu, x, strict=True)])
    model = GammaGamma().fit(x, mean)
    assert not model.constrained_ and not model.warnings_
