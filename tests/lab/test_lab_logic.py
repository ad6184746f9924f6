"""The policy lab's logic without a web page: paths stay under the root, worlds are bounded and
validated like files, strategy forms follow the declarations, the rules check locates errors,
the experiment YAML round-trips, the verdict's probabilities and expected loss agree with direct
integration, and the token guard refuses what lacks the token."""

from __future__ import annotations

import asyncio
import math
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as st
from scipy.integrate import quad

from sim.errors import ConfigError
from sim.experiment.spec import parse_experiment
from sim.lab import i18n, policies, server, verdict, worlds
from sim.lab.paths import OutsideRoot, check_name, confine
from strategies.registry import available

SMALL = {"users": 600, "days": 20}


# --------------------------------------------------------------------------- paths
def test_paths_outside_the_root_are_refused(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "secret.yaml"
    outside.write_text("name: x\n")
    assert confine(root, "sub") == (root / "sub").resolve()
    assert confine(root, str(root / "sub" / "a.yaml")) == (root / "sub" / "a.yaml").resolve()
    for bad in ("../secret.yaml", "sub/../../secret.yaml", str(outside), "/etc/passwd", "a\x00b"):
        with pytest.raises(OutsideRoot):
            confine(root, bad)
    os.symlink(outside, root / "link.yaml")
    with pytest.raises(OutsideRoot):
        confine(root, "link.yaml")


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 65, "名字"])
def test_experiment_names_cannot_be_paths(name):
    with pytest.raises(ConfigError):
        check_name(name)


# --------------------------------------------------------------------------- text
def test_every_text_has_chinese_and_formats():
    assert all(zh for _, zh in i18n.TEXT.values())
    assert i18n.tr("laws.result", "zh", held=3, total=4) == "4 条规律中 3 条成立"
    assert i18n.tr("laws.result", "en", held=3, total=4) == "3 of 4 laws hold"
    assert i18n.tr("no.such.key") == "no.such.key"
    assert set(i18n.STRATEGIES_ZH) >= set(available())
    assert set(i18n.DESCRIPTIONS_ZH) >= set(available()) - {"rules"}
    declared = {f"{n}.{p.name}" for n, c in available().items() for p in c.parameters}
    assert set(i18n.PARAMS_ZH) == declared  # every built-in parameter's meaning, and no stale one
    assert i18n.param_meaning("x", "y", "english", "zh") == "english"  # an installed strategy


# --------------------------------------------------------------------------- worlds
def test_worlds_are_bounded_and_validated_like_files(tmp_path):
    data = worlds.world_data(tmp_path, worlds.WorldChoice(), 2000, 30)
    assert data["population"]["initial_users"] == 2000 and data["days"] == 30
    for users, days in ((worlds.MAX_USERS + 1, 30), (100, 30), (2000, 5000), (2000, True)):
        with pytest.raises(ConfigError):
            worlds.world_data(tmp_path, worlds.WorldChoice(), users, days)
    (tmp_path / "w.yaml").write_text(
        "name: w\ndays: 90\npopulation: {initial_users: 9000}\n"
        "strategies: [{name: blanket}]\nworld: {bogus_key: 1}\n"
    )
    with pytest.raises(ConfigError, match="bogus_key"):
        worlds.world_data(tmp_path, worlds.WorldChoice(worlds.CONFIG, "w.yaml"), 2000, 30)
    (tmp_path / "ok.yaml").write_text("name: ok\ndays: 90\nstrategies: [{name: blanket}]\n")
    ok = worlds.world_data(tmp_path, worlds.WorldChoice(worlds.CONFIG, "ok.yaml"), 2000, 30)
    assert "strategies" not in ok and ok["days"] == 30  # the world, without its policy
    keys = [w.key for w in worlds.list_worlds(tmp_path)]
    assert keys[0] == "default" and "config:ok.yaml" in keys
    with pytest.raises(OutsideRoot):
        worlds.world_data(tmp_path, worlds.WorldChoice(worlds.CONFIG, "../ok.yaml"), 2000, 30)


def test_laws_outcome_is_stored_per_world(tmp_path):
    data = worlds.world_data(tmp_path, worlds.WorldChoice(), 500, 30)
    assert worlds.read_laws(tmp_path, data) is None
    (tmp_path / ".lab" / "laws").mkdir(parents=True)
    worlds.laws_path(tmp_path, data).write_text('{"passed": true, "held": 1, "total": 1}')
    assert worlds.read_laws(tmp_path, data)["held"] == 1
    other = worlds.world_data(tmp_path, worlds.WorldChoice(), 600, 30)
    assert worlds.read_laws(tmp_path, other) is None


# --------------------------------------------------------------------------- strategy forms
@pytest.mark.parametrize("name", [n for n in available() if n != "rules"])
def test_forms_follow_each_strategys_declarations(name):
    declared = {p.name: p for p in available()[name].parameters}
    form = policies.strategy_form(name)
    assert [f.name for f in form] == list(declared)
    for f in form:
        p = declared[f.name]
        assert f.meaning == p.meaning and f.low == p.low and f.high == p.high
        assert p.problem(p.from_config(policies.default_params(name)[f.name])) is None
    assert policies.check_params(name, policies.default_params(name)) == {}


def test_form_values_are_read_then_checked_by_the_declaration():
    form = {f.name: f for f in policies.strategy_form("tiered_content")}
    assert policies.read_field(form["every_days"], "14") == 14
    assert policies.read_field(form["every_days"], 14.0) == 14
    assert policies.check_params("tiered_content", {"every_days": 0}) != {}
    problem = policies.check_params("tiered_content", {"every_days": "soon"})["every_days"]
    assert "must be" in problem


# --------------------------------------------------------------------------- rules
RULE = """- name: recall
  when: 'churn_depth == "shallow" and days_since_open >= 7'
  on: daily
  do: {action: give_coupon, params: {discount: 0.5, valid_days: 7}}
"""


def test_rules_errors_have_their_position():
    typo = policies.parse_rules_text(RULE.replace("days_since_open", "days_since_opn"))
    assert not typo.ok and (typo.line, typo.column) == (2, 39) and "days_since_open" in typo.error
    broken = policies.parse_rules_text("- name: r\n  when: [\n")
    assert not broken.ok and broken.line == 3
    action = policies.parse_rules_text(RULE.replace("give_coupon", "give_money"))
    assert not action.ok and "give_money" in action.error
    assert policies.parse_rules_text("").ok and policies.parse_rules_text(RULE).ok


def test_rules_dry_run_counts_selected_users(tmp_path):
    world = worlds.world_data(tmp_path, worlds.WorldChoice(), SMALL["users"], SMALL["days"])
    checked = policies.check_rules_text(RULE, world)
    assert checked.ok and len(checked.counts) == 1
    count = checked.counts[0]
    assert 0 < count.selected <= count.reachable <= SMALL["users"]
    everyone = policies.check_rules_text(
        RULE.replace('churn_depth == "shallow" and days_since_open >= 7', "days_since_open >= 0"),
        world,
    )
    assert everyone.counts[0].selected >= count.selected  # a wider condition selects more


# --------------------------------------------------------------------------- the experiment
def _drafts():
    control = policies.PolicyDraft("全量推送", [{"name": "blanket", "params": {}}])
    arm = policies.PolicyDraft("tiered", [{"name": "tiered_content", "params": {"every_days": 5}}],
                               RULE)  # fmt: skip
    return control, arm


def test_experiment_yaml_is_what_a_file_would_say(tmp_path):
    world = worlds.world_data(tmp_path, worlds.WorldChoice(), SMALL["users"], SMALL["days"])
    control, arm = _drafts()
    data = policies.experiment_data("exp1", world, control, [arm], "group", 2)
    spec = policies.validate_experiment(data)
    again = parse_experiment(yaml.safe_load(policies.experiment_yaml(data)), "again.yaml")
    assert again == spec
    assert spec.arms["arm_a"].rules[0].name == "recall" and spec.randomisation.unit == "group"
    assert "全量推送" in policies.experiment_yaml(data)  # Chinese labels stay readable
    back_control, back_arms = policies.drafts_from_spec(spec)
    rebuilt = policies.experiment_data("exp1", world, back_control, back_arms, "group", 2)
    assert parse_experiment(rebuilt) == spec


def test_bad_experiments_are_refused_with_the_key(tmp_path):
    world = worlds.world_data(tmp_path, worlds.WorldChoice(), SMALL["users"], SMALL["days"])
    control, arm = _drafts()
    with pytest.raises(ConfigError, match="arms"):
        policies.experiment_data("x", world, control, [arm] * 4)
    with pytest.raises(ConfigError, match="unit"):
        policies.experiment_data("x", world, control, [arm], unit="city")
    with pytest.raises(ConfigError, match="replications"):
        policies.experiment_data("x", world, control, [arm], replications=0)
    wrong = policies.PolicyDraft("w", [{"name": "tiered_content", "params": {"every_days": 0}}])
    with pytest.raises(ConfigError, match="every_days"):
        policies.validate_experiment(policies.experiment_data("x", world, control, [wrong]))


# --------------------------------------------------------------------------- the verdict
@pytest.mark.parametrize("df", [math.inf, 2.0, 5.0])
@pytest.mark.parametrize("diff", [-1.0, 0.0, 0.3, 2.0])
def test_chance_and_expected_loss_agree_with_integration(df, diff):
    se = 0.7
    dist = st.norm(diff, se) if math.isinf(df) else st.t(df, loc=diff, scale=se)
    harm, _ = quad(lambda x: max(0.0, -x) * dist.pdf(x), -np.inf, 0)
    assert verdict.expected_loss(diff, se, df, +1) == pytest.approx(harm, rel=1e-6, abs=1e-9)
    assert verdict.prob_better(diff, se, df, +1) == pytest.approx(dist.sf(0), rel=1e-9)
    # a metric where lower is better reads the same difference the other way round
    assert verdict.prob_better(diff, se, df, -1) == pytest.approx(dist.cdf(0), rel=1e-9)


def test_expected_loss_shrinks_with_the_effect_and_is_infinite_with_two_replications():
    losses = [verdict.expected_loss(d, 1.0, 4.0, 1) for d in (-2, -1, 0, 1, 2)]
    assert all(a > b for a, b in zip(losses, losses[1:], strict=False))
    assert verdict.expected_loss(1.0, 1.0, 1.0, 1) == math.inf


def _row(key, diff, prob, loss=0.0, significant=False):
    return verdict.Row(key, 1.0, 1.0 + diff, diff, diff - 1, diff + 1, 0.5, significant, prob,
                       loss)  # fmt: skip


def test_decision_rule():
    net = verdict.NET
    harm = _row(verdict.CHURN, +0.05, 0.01, significant=True)  # churn up significantly
    assert verdict.decide(_row(net, 1, 0.99, 0.001), [], 0.01) == verdict.SHIP
    assert verdict.decide(_row(net, 1, 0.99, 0.001), [harm], 0.01) == verdict.NO_SHIP
    assert verdict.decide(_row(net, 1, 0.99, 0.5), [], 0.01) == verdict.INCONCLUSIVE
    assert verdict.decide(_row(net, -1, 0.02, 2.0), [], 0.01) == verdict.NO_SHIP
    assert verdict.decide(_row(net, 0.1, 0.6, 0.2), [], 0.01) == verdict.INCONCLUSIVE
    assert verdict.decide(None, [], 0.01) == verdict.INCONCLUSIVE


# --------------------------------------------------------------------------- the token
def _request(guard, path="/", cookie=None, kind="http"):
    sent = []
    headers = [(b"cookie", cookie.encode())] if cookie else []
    query = path.partition("?")[2].encode()
    scope = {"type": kind, "path": path, "query_string": query, "headers": headers}
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message):
        sent.append(message)

    async def receive():
        return {}

    guard.app = app
    asyncio.run(guard(scope, receive, send))
    return reached, sent


def test_token_guard_refuses_requests_without_the_token():
    guard = server.TokenGuard(None, "s3cret")
    reached, sent = _request(guard, "/")
    assert not reached and sent[0]["status"] == 403
    reached, sent = _request(guard, "/?token=wrong")
    assert not reached and sent[0]["status"] == 403
    reached, sent = _request(guard, "/_nicegui_ws/socket.io", kind="websocket")
    assert not reached and sent[0] == {"type": "websocket.close", "code": 1008}
    reached, sent = _request(guard, "/?token=s3cret")
    assert reached and (b"set-cookie", b"siyu_lab_token=s3cret; Path=/; HttpOnly; "
                        b"SameSite=Strict") in sent[0]["headers"]  # fmt: skip
    reached, _ = _request(guard, "/_nicegui/static/x.js", cookie="siyu_lab_token=s3cret")
    assert reached


def test_another_host_gets_a_token_loopback_does_not():
    assert server.resolve_token("127.0.0.1", None) == (None, False)
    token, generated = server.resolve_token("0.0.0.0", None)
    assert generated and len(token) >= 24
    assert server.resolve_token("0.0.0.0", "given") == ("given", False)
    assert "token=abc" in server.address("0.0.0.0", 8765, "abc")


def test_charts_draw_each_arm_in_its_colour_everywhere():
    from sim.lab.charts import band_chart
    from sim.plots.style import arm_colours

    curve = pd.DataFrame({"x": [0, 1, 2], "mean": [1.0, 0.9, 0.8], "low": [1.0, 0.8, 0.7],
                          "high": [1.0, 1.0, 0.9]})  # fmt: skip
    colours = arm_colours(["control", "arm_a"])
    options = band_chart("t", {"control": curve, "arm_a": curve}, {"arm_a": "A"}, colours, "day")
    for s in options["series"]:
        arm = "arm_a" if s["name"] == "A" else "control"
        assert s["itemStyle"]["color"] == colours[arm]
    assert options["color"] == [s["itemStyle"]["color"] for s in options["series"]]
    bands = [s for s in options["series"] if "areaStyle" in s]
    assert len(bands) == 2 and all(w[1] >= 0 for b in bands for w in b["data"])
