"""A twin folder as the simulator's initial base: conservation, history, determinism, mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from sim.config import ConfigError, load_config, parse_config
from sim.engine.simulation import Simulation
from sim.runs.sample_log import TruthParams, generate_log, to_event_frame
from sim.twin.fit import fit_twin
from sim.twin.folder import load_twin, write_twin
from sim.twin.population import (
    MAX_BUY_PROB,
    _activity_logit,
    _churn_hazard,
    twin_population,
)
from sim.twin.rfm import user_statistics
from sim.world.lifecycle import NO_DAY
from sim.world.population_spec import CHANNELS

CAL = "2024-09-30"
NO_ARRIVALS = {"organic": 0, "ads": 0, "content": 0, "live": 0}


def _write(tmp, raw: pd.DataFrame, attributes: pd.DataFrame | None = None):
    stats = user_statistics(to_event_frame(raw), CAL)
    fit = fit_twin(stats, CAL)
    return write_twin(fit, tmp, data={"users": len(stats)}, inputs={}, options={},
                      attributes=attributes)  # fmt: skip


@pytest.fixture(scope="module")
def twin_dir(tmp_path_factory):
    raw = generate_log(2_500, TruthParams(alpha=0.5, beta=120.0), seed=31)
    ids = raw["user_id"].unique()
    attributes = pd.DataFrame({"user_id": ids[:300], "channel": "referral", "age": 41,
                               "income": 20000.0})  # fmt: skip
    return _write(tmp_path_factory.mktemp("twin_pop") / "twin", raw, attributes)


def _config(twin_dir, seed: int = 3, days: int = 40, arrivals=None, **extra):
    population = {"twin": str(twin_dir), "arrivals_per_day": arrivals or NO_ARRIVALS}
    data = {"name": "on-twin", "seed": seed, "days": days, "population": population}
    data.update(extra)
    return parse_config(data, "<test>")


@pytest.fixture(scope="module")
def run(twin_dir):
    config = _config(twin_dir, arrivals={"organic": 3, "ads": 3, "content": 0, "live": 0})
    return config, Simulation(config).run().tables


def test_run_on_a_twin_conserves_users_and_starts_from_their_history(twin_dir, run) -> None:
    config, tables = run
    twin = load_twin(twin_dir)
    users, daily = tables["users"], tables["daily"]
    real = twin.users.set_index("uid")
    base = users[users["join_day"] < 0].set_index("user_id")
    assert len(base) == len(real) and set(base.index) == set(real.index)
    # conservation: every registered user is in the users table and in exactly one stage
    assert len(users) == daily["users_registered"].iloc[-1]
    stages = [c for c in daily.columns if c.startswith("stage_")]
    assert (daily[stages].sum(axis=1) == daily["users_registered"]).all()
    # the real purchase counts and revenue are the starting point
    assert (base["prior_purchases"] == real.loc[base.index, "purchases"]).all()
    assert (base["ladder_level"] >= np.minimum(real.loc[base.index, "purchases"], 4)).all()
    joined = pd.to_datetime(real.loc[base.index, "birth"]) - pd.Timestamp("2024-10-01")
    assert (base["join_day"] == joined.dt.days).all()


def test_users_known_to_have_left_start_churned_and_stay_silent(twin_dir, run) -> None:
    _, tables = run
    twin = load_twin(twin_dir)
    users = tables["users"].set_index("user_id")
    real = twin.users.set_index("uid")
    left = real.index[real["dead_at"] >= 0]
    assert len(left) > 50
    gone = users.loc[left]
    assert (gone["initial_stage"] == "churned").all() and (gone["churn_day"] == 0).all()
    assert (gone["purchases"] == 0).all() and (gone["group_id"] == -1).all()
    # overall, the users drawn gone match the twin's expected number within 4 binomial sd
    p = real["p_present"].to_numpy()
    drawn_gone = int((users.loc[real.index, "initial_stage"] == "churned").sum())
    assert abs(drawn_gone - (1 - p).sum()) <= 4 * np.sqrt((p * (1 - p)).sum()) + 1


def test_same_seed_same_run_and_seed_changes_the_draws(twin_dir, run) -> None:
    config, tables = run
    again = Simulation(config).run().tables
    for name in ("users", "daily", "purchases"):
        pd.testing.assert_frame_equal(tables[name], again[name], check_exact=True)
    other = twin_population(twin_dir, _config(twin_dir, seed=4).population,
                            config.world, 4)  # fmt: skip
    same = twin_population(twin_dir, config.population, config.world, config.seed)
    assert np.array_equal(other["uid"], same["uid"])
    assert np.array_equal(other["prior_purchases"], same["prior_purchases"])
    assert not np.array_equal(other["engagement_logit"], same["engagement_logit"])


def test_day0_propensities_match_the_twin(twin_dir) -> None:
    """The simulator's day-0 purchase chance and churn hazard, computed from its own formulas
    (MODEL.md §5.4, 5.5d, 5.6), equal the twin's posterior targets for users still there."""
    config = _config(twin_dir)
    cols = twin_population(twin_dir, config.population, config.world, config.seed)
    twin = load_twin(twin_dir)
    users, world = twin.users, config.world
    here = cols["churn_day"] < 0
    silence = -cols["last_active"].astype(float)
    active = expit(_activity_logit(cols, world, silence))
    step = np.minimum(cols["ladder"], len(world.products) - 1)
    base = np.array([logit(p.base_daily_conversion) for p in world.products])[step]
    trust = cols["trust"].astype(float)
    per_active = expit(base + world.behaviour.purchase_trust * (trust - 0.5)
                       + cols["buy_logit_offset"])  # fmt: skip
    rate = (users["p_buying"] / users["p_present"] * users["p_mean"]).to_numpy()
    wait = np.array([max(p.min_gap_days - 1, 0) for p in world.products])[step]
    target = rate / (1 - rate * wait)
    ok = here & (per_active < MAX_BUY_PROB * 0.999) & (rate * wait < 0.9)
    assert ok.sum() > 0.5 * here.sum()
    assert np.allclose((active * per_active)[ok], target[ok], rtol=1e-4)
    hazard = cols["churn_multiplier"] * (
        active * _churn_hazard(world, trust, 0 * silence)
        + (1 - active) * _churn_hazard(world, trust, silence + 1)
    )
    assert np.allclose(hazard[here], users["leave_mean"].to_numpy()[here], rtol=1e-4)
    assert np.all(cols["buy_logit_offset"][~here] == 0)


def test_known_attributes_replace_the_draws(twin_dir) -> None:
    config = _config(twin_dir)
    cols = twin_population(twin_dir, config.population, config.world, config.seed)
    twin = load_twin(twin_dir)
    given = twin.users["user_id"].isin(twin.attributes["user_id"]).to_numpy()
    assert (cols["channel"][given] == CHANNELS.index("referral")).all()
    assert (cols["age"][given] == 41).all() and np.allclose(cols["income"][given], 20000)
    assert (cols["channel"][~given] != CHANNELS.index("referral")).any()
    assert cols["last_purchase"].dtype == np.int32 and (cols["last_purchase"] < 0).all()
    assert np.allclose(cols["prior_revenue"], twin.users["spend"], rtol=1e-6)
    assert (cols["ladder"] == np.minimum(twin.users["purchases"], 4)).all()
    assert ((cols["last_purchase"] == NO_DAY) == (twin.users["purchase_days"] == 0)).all()


@pytest.mark.slow
def test_unknown_attribute_values_and_missing_folders_are_clear_errors(tmp_path) -> None:
    raw = generate_log(300, TruthParams(), seed=2)
    bad = pd.DataFrame({"user_id": raw["user_id"].unique()[:5], "channel": "tiktok"})
    folder = _write(tmp_path / "t", raw, bad)
    config = _config(folder)
    with pytest.raises(ValueError, match="column 'channel': unknown value"):
        twin_population(folder, config.population, config.world, 1)
    with pytest.raises(ConfigError, match="population.twin: .*nowhere is not a twin folder"):
        _config(tmp_path / "nowhere")
    half_written = tmp_path / "half"
    half_written.mkdir()
    with pytest.raises(ConfigError, match="population.twin: .*not a complete twin folder"):
        _config(half_written)


def test_a_twin_without_activity_or_leaves_keeps_everyone_and_the_base_churn(tmp_path) -> None:
    raw = generate_log(800, TruthParams(kappa=None, epsilon=0.0, rho=0.0), seed=9)
    folder = _write(tmp_path / "plain", raw)
    twin = load_twin(folder)
    assert twin.model.model.flags_ == (False, False, False)  # plain BG/BB, read back as such
    config = _config(folder)
    cols = twin_population(folder, config.population, config.world, config.seed)
    assert (cols["churn_day"] == -1).all() and np.all(cols["churn_multiplier"] == 1)
    assert np.all(np.isfinite(cols["buy_logit_offset"]))


def test_a_relative_twin_path_is_relative_to_the_config_file(twin_dir) -> None:
    configs = twin_dir.parent / "configs"
    configs.mkdir(exist_ok=True)
    path = configs / "on_twin.yaml"
    path.write_text(f"name: on-twin\ndays: 5\npopulation:\n  twin: ../{twin_dir.name}\n")
    assert load_config(path).population.twin == twin_dir.resolve()


def test_a_run_folder_pins_the_twin_it_started_from(twin_dir, tmp_path) -> None:
    import hashlib

    from sim.runs.single import run_to_folder

    _, _, manifest = run_to_folder(_config(twin_dir, days=3), tmp_path / "run")
    expected = hashlib.sha256((twin_dir / "twin.json").read_bytes()).hexdigest()
    assert manifest["inputs"]["twin"]["sha256"] == expected
    assert "churn_model" not in manifest["inputs"]


@pytest.mark.slow
def test_an_experiment_runs_its_arms_on_the_twins_users(twin_dir) -> None:
    from sim.config import read_yaml
    from sim.experiment.analysis import analyse_experiment
    from sim.experiment.executor import Execution, execute_experiment
    from sim.experiment.plan import plan_cells
    from sim.experiment.spec import read_experiment_spec
    from sim.runs.folder import load_run

    path = twin_dir.parent / "configs" / "experiment_on_twin.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"name: on-twin\nseed: 5\ndays: 20\nreplications: 2\npopulation:\n"
        f"  twin: ../{twin_dir.name}\n  arrivals_per_day: {{organic: 2, ads: 0, content: 0, "
        "live: 0}\ncontrol:\n  strategies: [{name: blanket}]\narms:\n  recall:\n"
        "    strategies: [{name: blanket}, {name: recall_coupon}]\nanalysis: {uplift: false}\n"
    )
    spec = read_experiment_spec(path)
    cells = plan_cells(spec, read_yaml(path), str(path))
    out = twin_dir.parent / "experiment_on_twin"
    result = execute_experiment(spec, cells, str(path), out, Execution(progress=False))
    assert result.failed == 0 and result.ran == 4
    twin_uids = set(load_twin(twin_dir).users["uid"])
    for rep in (0, 1):
        control = load_run(out / f"cells/base/control/rep-{rep}").table("users")
        treated = load_run(out / f"cells/base/recall/rep-{rep}").table("users")
        # the same people in both arms (common random numbers): every twin user, plus the
        # exogenous arrivals; only users referred by others may differ (behaviour differs)
        exogenous = [set(t.loc[t["referrer_id"] < 0, "user_id"]) for t in (control, treated)]
        assert exogenous[0] == exogenous[1] and twin_uids <= exogenous[0]
        assert len(exogenous[0]) > len(twin_uids)  # arrivals came too
    tables = analyse_experiment(out)
    assert "net_value_per_user" in set(tables["comparison"]["metric"])
