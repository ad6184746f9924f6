"""The churn model: training data, held-out quality, JSON files, the rule field and the CLI.

Tests use a *churny* small world (higher base hazard, silence multiplying it 20-fold) so that 20
days of churn are frequent and predictable from behaviour; the default world's churn is mostly
luck (see the model's held-out AUC in experiments/models/churn_quickstart.json).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.churn.model import (
    CHURN_FEATURES,
    ChurnModel,
    ChurnModelError,
    churn_features,
    feature_matrix,
)
from sim.cli.main import main as siyu_main
from sim.config import ConfigError, load_config, parse_config
from sim.engine.simulation import Simulation
from sim.rules.fields import user_fields
from sim.runs.churn_training import build_dataset, evaluate
from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.params import param
from strategies.rules import RuleSet

SNAPSHOT, WINDOW = 20, 20
CHURNY = {"behaviour": {"churn_base_hazard": 0.003, "churn_silence_ratio": 20.0}}
RISKY = {
    "name": "risky",
    "when": "churn_risk >= 0.6",
    "on": {"every_days": 1000, "start_day": SNAPSHOT},
    "do": {"action": "give_coupon", "params": {"discount": 0.01, "valid_days": 1}},
}


def churny(make_config, users: int = 4_000, days: int = SNAPSHOT + WINDOW + 1, **extra):
    return make_config(days=days, users=users, world=CHURNY, **extra)


@pytest.fixture(scope="module")
def trained(make_config, tmp_path_factory) -> dict:
    cfg = churny(make_config)
    train = build_dataset(cfg, [1], SNAPSHOT, WINDOW)
    test = build_dataset(cfg, [2], SNAPSHOT, WINDOW)
    model = ChurnModel().fit(train, train["churned"])
    path = model.to_json(tmp_path_factory.mktemp("model") / "churn.json")
    return {"config": cfg, "train": train, "test": test, "model": model, "path": path}


# -- dataset ------------------------------------------------------------------------------------
def test_dataset_rows_and_labels_match_the_users_table(trained, make_config, run_world) -> None:
    data = trained["train"]
    tables = run_world(trained["config"].model_copy(update={"seed": 1}))
    users = tables["users"]
    users = users[users["join_day"] <= SNAPSHOT]  # later arrivals did not exist yet
    churn_day = users.set_index("user_id")["churn_day"]
    lapses = tables["lapses"]
    past = lapses[lapses["day"] <= SNAPSHOT].groupby("user_id")["event"].last()
    lapsed_then = past.index[past == "lapse"]
    reachable = churn_day[((churn_day < 0) | (churn_day > SNAPSHOT))]
    cohort = reachable[~reachable.index.isin(lapsed_then)]
    assert sorted(data["user_id"]) == sorted(cohort.index)
    later = cohort.loc[data["user_id"]].to_numpy()
    deleted = (later > SNAPSHOT) & (later <= SNAPSHOT + WINDOW)
    in_window = lapses[(lapses["day"] > SNAPSHOT) & (lapses["day"] <= SNAPSHOT + WINDOW)]
    lapsed = data["user_id"].isin(in_window.loc[in_window["event"] == "lapse", "user_id"])
    assert (data["churned"].to_numpy() == (deleted | lapsed.to_numpy())).all()
    assert 0.1 < data["churned"].mean() < 0.9
    assert list(data.columns) == ["seed", "user_id", *CHURN_FEATURES, "churned"]


def test_same_seed_gives_the_same_dataset(trained) -> None:
    again = build_dataset(trained["config"], [1], SNAPSHOT, WINDOW)
    pd.testing.assert_frame_equal(again, trained["train"])
    assert not trained["test"]["user_id"].isin(trained["train"]["user_id"]).all()


def test_too_short_a_run_is_a_clear_error(make_config) -> None:
    cfg = churny(make_config, days=30)
    with pytest.raises(ChurnModelError, match="needs at least 41 days"):
        build_dataset(cfg, [1], SNAPSHOT, WINDOW)


# -- model quality ------------------------------------------------------------------------------
def test_held_out_auc_is_clearly_above_chance_and_calibrated(trained) -> None:
    test = trained["test"]
    report = evaluate(trained["model"], test, test["churned"])
    assert report["auc"] > 0.6
    assert report["brier"] < report["brier_base_rate"]
    assert abs(report["mean_predicted"] - report["base_rate"]) < 0.05
    for key in ("calibration", "calibration_deciles"):
        bins = report[key]
        assert sum(b["count"] for b in bins) == report["n"]
        assert all(b["bin_low"] - 1e-12 <= b["mean_predicted"] <= b["bin_high"] + 1e-12
                   for b in bins)  # fmt: skip
    deciles = report["calibration_deciles"]
    assert deciles[-1]["observed_rate"] > deciles[0]["observed_rate"]


def test_json_round_trip_gives_identical_probabilities(trained) -> None:
    model, test = trained["model"], trained["test"]
    model.metadata_ = {"config": "churny", "window": WINDOW}
    loaded = ChurnModel.from_json(model.to_json(trained["path"].with_name("copy.json")))
    assert np.array_equal(loaded.predict_proba(test), model.predict_proba(test))
    assert loaded.metadata_ == {"config": "churny", "window": WINDOW}
    assert loaded.feature_names_ == CHURN_FEATURES


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: "{not json", "not valid JSON at line 1"),
        (lambda d: {**d, "format": "pickle"}, "format"),
        (lambda d: {**d, "features": [*d["features"][:-1], "shoe_size"]}, "unknown shoe_size"),
        (lambda d: {**d, "features": d["features"][::-1]}, "another order"),
        (lambda d: {**d, "coef": d["coef"][:-1]}, "coef: expected a list of 28"),
        (lambda d: {**d, "scaler_scale": [0.0] * len(d["scaler_scale"])}, "scale must be > 0"),
        (lambda d: {**d, "intercept": "NaN"}, "intercept"),
        (lambda d: [1, 2, 3], "expected a JSON object"),
    ],
)
def test_malformed_model_files_are_errors_naming_the_file(trained, tmp_path, change, needle):
    data = json.loads(trained["path"].read_text())
    bad = change(data)
    path = tmp_path / "bad.json"
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    with pytest.raises(ChurnModelError, match=needle) as err:
        ChurnModel.from_json(path)
    assert str(path) in str(err.value)
    with pytest.raises(ChurnModelError, match="cannot read"):
        ChurnModel.from_json(tmp_path / "missing.json")


def test_feature_matrix_checks_its_input() -> None:
    with pytest.raises(ChurnModelError, match="lacks feature columns: trust"):
        feature_matrix(pd.DataFrame({c: [0.0] for c in CHURN_FEATURES if c != "trust"}))
    with pytest.raises(ChurnModelError, match="28 feature columns"):
        feature_matrix(np.zeros((3, 5)))


# -- the rule field -----------------------------------------------------------------------------
def test_live_field_is_the_model_on_the_same_features(trained, finished_sim) -> None:
    ops = Operations(finished_sim, "test")
    risk = user_fields(ops, {"churn_risk"}, trained["model"])["churn_risk"]
    churned = ops.field("churn_day") >= 0
    assert churned.any() and np.isnan(risk[churned]).all()
    live = churn_features(ops.field, ops.day)[~churned]
    assert np.array_equal(risk[~churned], trained["model"].predict_proba(live)[:, 1])
    assert np.isnan(user_fields(ops, {"churn_risk"})["churn_risk"]).all()  # no model: never true


class RiskRecorder(Strategy):
    """Test-only: the churn risk every user has on the rule's day, before the rules act."""

    name = "risk_recorder"

    model_path: str = param("", "the churn model JSON to score with")

    def start(self, ops: Operations) -> None:
        self.model_ = ChurnModel.from_json(self.model_path)
        self.risk_: np.ndarray | None = None

    def on_day(self, ops: Operations) -> None:
        if ops.day == SNAPSHOT:
            self.risk_ = user_fields(ops, {"churn_risk"}, self.model_)["churn_risk"].copy()


def test_rule_on_churn_risk_targets_users_who_then_churn_more(trained, make_config) -> None:
    cfg = churny(make_config, seed=3, rules=[RISKY], churn_model=str(trained["path"]))
    rules = RuleSet(
        rules=tuple(r.model_dump() for r in cfg.rules), config_source="test.yaml",
        churn_model=str(cfg.churn_model),
    )  # fmt: skip
    recorder = RiskRecorder(model_path=str(trained["path"]))
    sim = Simulation(cfg, [recorder, rules], keep_user_actions=True)
    sim.run()
    acted = [u for d, s, _a, u, _n in sim.ledger.user_rows if s == "rules:risky" and d == SNAPSHOT]
    selected = np.concatenate(acted) if acted else np.zeros(0, np.int64)
    risk = sim.strategies[0].risk_
    expected = np.flatnonzero(risk >= 0.6)  # nan (churned before the day) is never selected
    assert np.array_equal(np.sort(selected), expected)
    churn_day = sim.pop.col("churn_day")[: risk.shape[0]]
    reachable = ~np.isnan(risk)
    chosen = np.zeros(risk.shape[0], bool)
    chosen[selected] = True
    rest = reachable & ~chosen
    assert 0 < chosen.sum() < reachable.sum()
    later = (churn_day >= SNAPSHOT) & (churn_day < SNAPSHOT + WINDOW)
    assert later[chosen].mean() > later[rest].mean()


def test_churn_risk_without_churn_model_is_a_config_error_naming_the_rule(make_config) -> None:
    with pytest.raises(ConfigError, match=r"rule 'risky' uses churn_risk.*set churn_model:"):
        churny(make_config, rules=[RISKY])


def test_rules_refuse_to_start_without_the_model(trained, make_config) -> None:
    cfg = churny(make_config, users=500, days=5, rules=[RISKY], churn_model=str(trained["path"]))
    rules = RuleSet(rules=tuple(r.model_dump() for r in cfg.rules), config_source="test.yaml")
    with pytest.raises(ConfigError, match="test.yaml: rule 'risky' uses churn_risk"):
        Simulation(cfg, [rules]).run()


def test_bad_churn_model_file_is_a_config_error(trained, tmp_path) -> None:
    data = {"name": "x", "days": 5, "rules": [RISKY]}
    with pytest.raises(ConfigError, match=r"<t>: churn_model: .*nope\.json: cannot read"):
        parse_config({**data, "churn_model": str(tmp_path / "nope.json")}, "<t>")
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(ConfigError, match=r"churn_model: .*broken\.json: format"):
        parse_config({**data, "churn_model": str(broken)}, "<t>")


def test_relative_model_path_is_relative_to_the_config_file(trained, tmp_path) -> None:
    folder = tmp_path / "configs"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "m.json").write_bytes(trained["path"].read_bytes())
    config_file = folder / "exp.yaml"
    config_file.write_text(
        yaml.safe_dump({"name": "x", "days": 5, "rules": [RISKY], "churn_model": "models/m.json"})
    )
    cfg = load_config(config_file)
    assert cfg.churn_model == (folder / "models" / "m.json").resolve()


# -- command line -------------------------------------------------------------------------------
def _cli(argv: list[str]) -> int:
    return siyu_main(argv)


def test_cli_trains_writes_model_and_plot_and_prints_metrics(tmp_path, capsys) -> None:
    config_file = tmp_path / "churny.yaml"
    config_file.write_text(yaml.safe_dump({
        "name": "churny", "days": SNAPSHOT + WINDOW + 1, "world": CHURNY,
        "population": {"initial_users": 1500, "arrivals_per_day": {"organic": 10.0}},
    }))  # fmt: skip
    out = tmp_path / "models" / "churn.json"
    argv = ["churn-model", "train", str(config_file), "--train-seeds", "1", "2",
            "--test-seeds", "3", "--snapshot-day", str(SNAPSHOT), "--window", str(WINDOW),
            "--out", str(out)]  # fmt: skip
    assert _cli(argv) == 0
    printed = capsys.readouterr().out
    assert "ROC AUC" in printed and "Brier" in printed and "calibration" in printed
    model = ChurnModel.from_json(out)
    assert model.metadata_["train_seeds"] == [1, 2] and model.metadata_["window"] == WINDOW
    assert model.metadata_["evaluation"]["auc"] > 0.5
    assert (tmp_path / "models" / "churn_calibration.png").read_bytes()[:4] == b"\x89PNG"
    argv += ["--overwrite"]  # the model file exists now; replacing it must be asked for
    argv[argv.index("--test-seeds") + 1] = "2"
    assert _cli(argv) == 2
    assert "train and test seeds must differ" in capsys.readouterr().err
    argv[argv.index("--test-seeds") + 1] = "3"
    argv[argv.index("--window") + 1] = "60"
    assert _cli(argv) == 2
    assert "too short" in capsys.readouterr().err
