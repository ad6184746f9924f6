"""Rules as data: field catalog, schema errors, schedules, limits, hold-outs and ``rules check``.

Every property is checked against an independent record: the per-user action rows the ledger
keeps when ``keep_user_actions=True`` (who got which rule's action on which day), and snapshots a
test-only recorder strategy takes of the population before the rules act.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim.cli.main import main
from sim.config import ConfigError, ExperimentConfig, parse_config
from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation
from sim.rules.fields import CATALOG, fields_markdown, user_fields
from sim.runs.rules_check import check_rules
from sim.world import lifecycle as lc
from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.rules import holdout_mask

DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES_LANGUAGE.md"
REWARD = {"action": "reward", "params": {"points": 1.0}}


def config(rules: list[dict[str, Any]], days: int = 30, users: int = 1500, **extra: Any):
    data = {
        "name": "rules-test", "seed": 7, "days": days,
        "population": {"initial_users": users, "arrivals_per_day": {"organic": 10.0}},
        "output": {"groups": False, "plots": False},
        "rules": rules, **extra,
    }  # fmt: skip
    return parse_config(data, "test.yaml")


class Recorder(Strategy):
    """Test-only: snapshots a few columns every day before the rules act."""

    name = "recorder"

    def start(self, ops: Operations) -> None:
        self.snaps_: dict[int, dict[str, np.ndarray]] = {}

    def on_day(self, ops: Operations) -> None:
        self.snaps_[ops.day] = {
            c: ops.field(c).copy() for c in ("progress", "join_day", "churn_day", "uid")
        }


def run(cfg: ExperimentConfig) -> tuple[Simulation, dict]:
    sim = Simulation(cfg, [Recorder(), *build_strategies(cfg)], keep_user_actions=True)
    result = sim.run()
    return sim, result.tables


def per_rule(sim: Simulation) -> dict[str, list[tuple[int, np.ndarray]]]:
    out: dict[str, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for day, strategy, _action, users, _units in sim.ledger.user_rows:
        if strategy.startswith("rules:") and users.shape[0]:
            out[strategy.removeprefix("rules:")].append((day, users))
    return out


# -- fields -------------------------------------------------------------------------------------
def test_every_catalog_field_is_computed_for_every_slot() -> None:
    ops = Simulation(config([])).initial_view()
    cols = user_fields(ops, CATALOG)
    assert set(cols) == set(CATALOG)
    assert all(v.shape == (ops.n_users,) for v in cols.values())
    assert set(user_fields(ops, {"trust"})) == {"trust"}
    silence = np.where(ops.field("last_active") == lc.NO_DAY, 100_000, -ops.field("last_active"))
    assert (cols["days_since_active"] == silence).all()


def test_fields_table_in_docs_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    inside = text.split("<!-- fields:begin -->\n")[1].split("\n<!-- fields:end -->")[0]
    assert inside == fields_markdown()


# -- schema errors ------------------------------------------------------------------------------
def test_condition_error_names_file_key_rule_and_marks_position() -> None:
    bad = [{"name": "ok", "do": REWARD},
           {"name": "recall", "when": "days_since_opn >= 7", "do": REWARD}]  # fmt: skip
    with pytest.raises(ConfigError) as err:
        config(bad)
    msg = str(err.value)
    assert msg.startswith("test.yaml: rules.1.when: rule 'recall': unknown field 'days_since_opn'")
    assert "did you mean 'days_since_open'" in msg
    assert msg.splitlines()[-1] == "  ^"


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"do": {"action": "give_coupon", "params": {"discount": 0.5}}}, "valid_days"),
        ({"do": {"action": "reward", "params": {"pts": 1}}}, "unknown parameter"),
        ({"do": {"action": "mail"}}, "rules.0.do.action"),
        ({"on": {"weekday": "monday"}, "do": REWARD}, "rules.0.on"),
        ({"holdout": 1.5, "do": REWARD}, "rules.0.holdout"),
    ],
)
def test_bad_rules_are_config_errors(rule: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        config([{"name": "r", **rule}])


def test_yaml_on_key_and_duplicate_names() -> None:
    data = yaml.safe_load("name: x\nrules:\n  - name: a\n    on: {weekday: wed}\n"
                          "    do: {action: reward, params: {points: 1}}\n")  # fmt: skip
    assert parse_config(data).rules[0].schedule_text() == "every wed"
    with pytest.raises(ConfigError, match="repeated: a"):
        config([{"name": "a", "do": REWARD}, {"name": "a", "do": REWARD}])


# -- schedules ----------------------------------------------------------------------------------
def test_each_schedule_fires_on_the_right_days() -> None:
    cfg = config([
        {"name": "daily", "do": REWARD, "valid_from_day": 3, "valid_until_day": 9},
        {"name": "tue", "on": {"weekday": "tue"}, "do": REWARD},
        {"name": "every5", "on": {"every_days": 5, "start_day": 2}, "do": REWARD},
        {"name": "joined2", "on": {"days_after": {"event": "join", "days": 2}}, "do": REWARD},
        {"name": "progress", "on": {"progress_reached": 0.3}, "do": REWARD},
    ])  # fmt: skip
    sim, tables = run(cfg)
    fired = tables["rules"].groupby("rule")["day"].apply(list).to_dict()
    assert fired["daily"] == list(range(3, 10))
    assert fired["tue"] == [d for d in range(30) if d % 7 == 1]
    assert fired["every5"] == [2, 7, 12, 17, 22, 27]
    snaps = sim.strategies[0].snaps_
    rows = per_rule(sim)
    assert rows["joined2"] and rows["progress"]
    for day, users in rows["joined2"]:
        assert (snaps[day]["join_day"][users] == day - 2).all()
    for day, users in rows["progress"]:
        now = snaps[day]["progress"][users]
        before = snaps[day - 1]["progress"]
        prev = np.where(users < before.shape[0], before[np.minimum(users, before.shape[0] - 1)], 0)
        assert (now >= 0.3).all() and (prev < 0.3).all()
    # every reachable user with the trigger got it (no hold-out, no limits)
    for day in range(1, 30):
        s = snaps[day]
        due = np.flatnonzero((s["join_day"] == day - 2) & (s["churn_day"] < 0))
        got = dict(rows["joined2"]).get(day, np.zeros(0, np.int64))
        assert np.array_equal(np.sort(got), due)


# -- limits -------------------------------------------------------------------------------------
def test_cooldown_and_max_per_user_are_never_exceeded() -> None:
    cfg = config([
        {"name": "cool", "do": REWARD, "cooldown_days": 4},
        {"name": "capped", "do": REWARD, "max_per_user": 2, "cooldown_days": 2},
    ])  # fmt: skip
    sim, _ = run(cfg)
    rows = per_rule(sim)
    days_of: dict[str, dict[int, list[int]]] = {k: defaultdict(list) for k in rows}
    for rule, entries in rows.items():
        for day, users in entries:
            for u in users.tolist():
                days_of[rule][u].append(day)
    assert all(np.diff(d).min(initial=99) >= 4 for d in days_of["cool"].values())
    assert any(len(d) >= 7 for d in days_of["cool"].values())  # it did fire repeatedly
    counts = Counter(len(d) for d in days_of["capped"].values())
    assert max(counts) == 2 and all(np.diff(d).min(initial=99) >= 2
                                    for d in days_of["capped"].values())  # fmt: skip


def test_exclusive_group_gives_one_rule_per_user_per_day_by_priority() -> None:
    cfg = config([
        {"name": "low", "do": REWARD, "exclusive_group": "g", "priority": 1},
        {"name": "high", "do": REWARD, "exclusive_group": "g", "priority": 5,
         "cooldown_days": 3},
    ], days=12)  # fmt: skip
    sim, tables = run(cfg)
    rows = per_rule(sim)
    high = {d: set(u.tolist()) for d, u in rows["high"]}
    low = {d: set(u.tolist()) for d, u in rows["low"]}
    assert high and low
    for day in range(12):
        assert not high.get(day, set()) & low.get(day, set())
    assert len(high[0]) > 0 and 0 not in low  # day 0: the higher priority takes everyone
    r = tables["rules"].set_index(["day", "rule"])
    assert r.loc[(0, "low"), "suppressed"] == r.loc[(0, "low"), "selected"]


def test_budgets_are_never_exceeded() -> None:
    cfg = config([
        {"name": "gifts", "do": {"action": "reward", "params": {"gift": 3.0}},
         "budget_money": 1000.0},
        {"name": "calls", "when": 'stage == "new" or stage == "core"',
         "do": {"action": "contact_1v1", "params": {"minutes": 20}},
         "budget_operator_hours": 25.0},
    ])  # fmt: skip
    sim, tables = run(cfg)
    costs = tables["costs"].groupby("strategy")[["cost_money", "operator_hours"]].sum()
    assert costs.loc["rules:gifts", "cost_money"] <= 1000.0 + 1e-6
    assert costs.loc["rules:gifts", "cost_money"] >= 1000.0 - 3.0  # spent up to the last gift
    assert costs.loc["rules:calls", "operator_hours"] <= 25.0 + 1e-6
    assert costs.loc["rules:calls", "operator_hours"] >= 25.0 - 1 / 3
    assert tables["rules"]["over_budget"].sum() > 0


def test_holdout_users_never_get_the_action_and_share_is_near_requested() -> None:
    cfg = config([{"name": "promo", "do": {"action": "send_promo"}, "holdout": 0.2}], days=10)
    sim, tables = run(cfg)
    uid = sim.pop.col("uid")
    reached = np.unique(np.concatenate([u for _, u in per_rule(sim)["promo"]]))
    held = holdout_mask(cfg.seed, cfg.rules[0], uid)
    assert not held[reached].any()
    r = tables["rules"]
    share = r["held_out"].sum() / (r["selected"].sum() - r["suppressed"].sum())
    assert abs(share - 0.2) < 0.02
    # the hold-out depends only on seed, rule name and user: the same in another arm
    other = config([{"name": "promo", "do": REWARD, "holdout": 0.2, "priority": 3}], days=10)
    assert np.array_equal(held, holdout_mask(other.seed, other.rules[0], uid))


def test_costs_table_shows_each_rule_and_example_runs(tmp_path: Path) -> None:
    code = main(["run", "experiments/rules_recall.yaml", "--users", "2000", "--days", "20",
                 "--out", str(tmp_path / "run"), "--quiet"])  # fmt: skip
    assert code == 0
    import pandas as pd

    costs = pd.read_parquet(tmp_path / "run" / "costs.parquet")
    assert {"rules:recall_coupon", "rules:recall_call"} <= set(costs["strategy"])
    assert (tmp_path / "run" / "rules.parquet").exists()


# -- rules check --------------------------------------------------------------------------------
def test_rules_check_counts_equal_a_direct_evaluation(capsys: pytest.CaptureFixture) -> None:
    cfg = config([
        {"name": "shallow", "when": 'churn_depth == "shallow" and trust > 0.2', "do": REWARD,
         "exclusive_group": "g"},
        {"name": "trusting", "when": "trust > 0.5", "do": REWARD, "exclusive_group": "g",
         "priority": 2},
        {"name": "never", "when": "purchases > 5 and purchases < 2", "do": REWARD},
        {"name": "joined", "on": {"days_after": {"event": "join", "days": 10}}, "do": REWARD},
        {"name": "poor", "do": {"action": "reward", "params": {"gift": 5.0}},
         "budget_money": 1.0},
    ])  # fmt: skip
    reports = {r.name: r for r in check_rules(cfg)}
    ops = Simulation(cfg).initial_view()
    f = ops.field
    alive = f("churn_day") < 0
    silence = np.where(f("last_active") == lc.NO_DAY, 100_000, -f("last_active").astype(int))
    shallow = lc.churn_depth(silence, cfg.world.lifecycle) == 1
    expect = {
        "shallow": alive & shallow & (f("trust") > 0.2),
        "trusting": alive & (f("trust") > 0.5),
        "never": np.zeros(ops.n_users, bool),
        "joined": alive & (f("join_day") == -10),
        "poor": alive,
    }
    for name, mask in expect.items():
        assert reports[name].selected == int(mask.sum()), name
    assert reports["shallow"].selected > 0 and reports["joined"].selected > 0
    assert any("overlaps 'trusting'" in w for w in reports["shallow"].warnings)
    assert any("can never fire" in w for w in reports["never"].warnings)
    assert any("cannot pay for one user" in w for w in reports["poor"].warnings)
    assert not reports["joined"].warnings


def test_rules_check_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    def write(rules: list[dict]) -> str:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump({"name": "c", "population": {"initial_users": 500},
                                        "rules": rules}))  # fmt: skip
        return str(path)

    assert main(["rules", "check", write([{"name": "a", "when": "trust > 0", "do": REWARD}])]) == 0
    assert "users selected" in capsys.readouterr().out
    never = [{"name": "a", "when": "trust > 2 and trust < 1", "do": REWARD}]
    assert main(["rules", "check", write(never)]) == 1
    assert main(["rules", "check", write([{"name": "a", "when": "trust >", "do": REWARD}])]) == 2
    assert "rules.0.when: rule 'a'" in capsys.readouterr().err
