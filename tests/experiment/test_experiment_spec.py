"""Experiment configs: arms, sweeps and their errors; planning of cells, seeds and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import ConfigError, parse_config
from sim.experiment.plan import plan_cells, plan_runs, replication_seed, set_path, sweep_points
from sim.experiment.spec import CONTROL, parse_experiment, read_experiment_spec

BASE = {
    "name": "exp",
    "seed": 3,
    "days": 20,
    "population": {"initial_users": 300},
    "control": {"strategies": [{"name": "blanket"}]},
    "arms": {"coupon": {"strategies": [{"name": "recall_coupon", "params": {"discount": 0.3}}]}},
}


def _with(**changes):
    data = {**BASE, **changes}
    return data


def test_arms_listed_control_first():
    spec = parse_experiment(_with(arms={"b": {}, "a": {}}), "x.yaml")
    assert spec.arm_names == [CONTROL, "b", "a"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_with(arms={}), "at least one arm"),
        (_with(arms={"control": {}}), "not 'control'"),
        (
            _with(arms={"a": {"strategis": []}}),
            "arms.a.strategis: unknown key (did you mean 'strategies'?)",
        ),
        (_with(strategies=[{"name": "none"}]), "belong to 'control:'"),
        (_with(replications=0), "replications"),
        (_with(randomisation={"unit": "household"}), "randomisation.unit"),
        (_with(randomisation={"share": 1.5}), "randomisation.share"),
        (
            _with(sweep={"method": "lhs", "parameters": {"world.x": {"low": 0, "high": 1}}}),
            "needs 'samples'",
        ),
        (_with(sweep={"method": "grid", "parameters": {"seed": 5}}), "list of values"),
        (
            _with(
                sweep={
                    "method": "random",
                    "samples": 2,
                    "parameters": {"a.b": {"low": 2, "high": 1}},
                }
            ),
            "high must be greater",
        ),
        (_with(analysis={"correction": "bonferroni"}), "analysis.correction"),
        (_with(replicatons=3), "did you mean 'replications'"),
    ],
)
def test_bad_experiment_configs_name_the_key(data, expected):
    with pytest.raises(ConfigError) as err:
        parse_experiment(data, "exp.yaml")
    assert "exp.yaml" in str(err.value)
    assert expected in str(err.value)


def test_bad_rule_in_an_arm_names_the_arm():
    data = _with(
        arms={"r": {"rules": [{"name": "x", "when": "stage == ", "do": {"action": "send_promo"}}]}}
    )
    with pytest.raises(ConfigError) as err:
        parse_experiment(data, "exp.yaml")
    assert "arms.r" in str(err.value)


def test_load_experiment_refuses_a_run_config(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("name: x\nstrategies: [{name: none}]\n")
    with pytest.raises(ConfigError, match="not an experiment"):
        read_experiment_spec(path)


def test_replication_seeds_are_stable_and_distinct():
    seeds = [replication_seed(7, r) for r in range(50)]
    assert len(set(seeds)) == 50
    assert seeds[:3] == [replication_seed(7, r) for r in range(3)]
    assert all(0 <= s < 2**63 for s in seeds)
    assert replication_seed(8, 0) != seeds[0]


def test_every_arm_of_a_replication_shares_its_seed():
    spec = parse_experiment(_with(replications=3, arms={"a": {}, "b": {}}), "x")
    tasks = plan_runs(plan_cells(spec, _with(), "x"), 3, spec.seed)
    assert len(tasks) == 9
    for rep in range(3):
        assert len({t.seed for t in tasks if t.replication == rep}) == 1
    assert len({t.seed for t in tasks}) == 3
    assert len({t.relpath for t in tasks}) == 9


def test_grid_sweep_is_the_cartesian_product_and_validated():
    sweep = {
        "method": "grid",
        "parameters": {
            "arms.coupon.strategies.0.params.discount": [0.3, 0.5, 0.7],
            "arms.coupon.strategies.0.params.trigger_silence_days": [7, 14],
        },
    }
    raw = _with(sweep=sweep)
    spec = parse_experiment(raw, "x")
    cells = plan_cells(spec, raw, "x")
    assert len(cells) == 6
    got = {
        (
            c.spec.arms["coupon"].strategies[0].params["discount"],
            c.spec.arms["coupon"].strategies[0].params["trigger_silence_days"],
        )
        for c in cells
    }
    assert got == {(d, t) for d in (0.3, 0.5, 0.7) for t in (7, 14)}
    assert len({c.cell_id for c in cells}) == 6


def test_sweep_value_out_of_range_fails_before_running():
    raw = _with(sweep={"method": "grid", "parameters": {"days": [10, 0]}})
    spec = parse_experiment(raw, "x.yaml")
    with pytest.raises(ConfigError, match=r"sweep cell 1: days=0"):
        plan_cells(spec, raw, "x.yaml")


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_sampled_sweeps_stay_in_range_and_are_reproducible(method):
    raw = _with(
        sweep={
            "method": method,
            "samples": 20,
            "parameters": {
                "world.behaviour.churn_base_hazard": {"low": 0.001, "high": 0.01, "log": True},
                "days": {"low": 10, "high": 30, "integer": True},
            },
        }
    )
    spec = parse_experiment(raw, "x")
    a, b = sweep_points(spec), sweep_points(spec)
    assert a == b and len(a) == 20
    hazards = [p["world.behaviour.churn_base_hazard"] for p in a]
    assert all(0.001 <= h <= 0.01 for h in hazards)
    assert all(isinstance(p["days"], int) and 10 <= p["days"] <= 30 for p in a)


def test_latin_hypercube_covers_every_stratum_once():
    raw = _with(
        sweep={"method": "lhs", "samples": 10, "parameters": {"days": {"low": 0.0, "high": 10.0}}}
    )
    values = sorted(p["days"] for p in sweep_points(parse_experiment(raw, "x")))
    assert [int(v) for v in values] == list(range(10))


def test_set_path_errors_name_the_parameter():
    data = {"arms": {"a": {"strategies": [{"name": "x"}]}}}
    set_path(data, "arms.a.strategies.0.params.discount", 0.5)
    assert data["arms"]["a"]["strategies"][0]["params"]["discount"] == 0.5
    with pytest.raises(ConfigError, match="arms.a.strategies.3"):
        set_path(data, "arms.a.strategies.3.params.x", 1)


def test_repeated_rule_names_are_refused_in_a_config_and_in_an_arm():
    push = {"action": "push_content", "params": {"tier": "free", "category": "career"}}
    rule = {"name": "a", "when": 'stage == "new"', "do": push}
    with pytest.raises(ConfigError, match="rule names must be unique; repeated: a"):
        parse_config({"name": "x", "rules": [rule, rule]}, "x.yaml")
    with pytest.raises(ConfigError, match="rule names must be unique; repeated: a"):
        parse_experiment(_with(arms={"r": {"rules": [rule, rule]}}), "exp.yaml")
    assert len(parse_experiment(_with(arms={"r": {"rules": [rule]}}), "exp.yaml").arms["r"].rules)
