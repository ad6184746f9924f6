"""Every page and action of the policy lab, in a simulated browser tab (no real browser): the
six tabs in both languages, choosing a world (out-of-range and out-of-root choices refused),
strategy forms, the rules editor's live check, the experiment check, running and cancelling,
the verdict, export and history."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import yaml
from conftest import TINY, simulate

from sim.experiment.spec import parse_experiment
from sim.lab import jobs, policies, worlds
from sim.lab.i18n import tr

TABS = ("world", "policies", "run", "verdict", "export", "history")


async def settle():
    """Let a re-render triggered by the last action land before using the page's elements."""
    await asyncio.sleep(0.3)


def _element(user, marker):
    return next(iter(user.find(marker=marker).elements))


def test_every_tab_in_both_languages(tmp_path):
    async def scenario(user):
        for lang in ("en", "zh"):
            await user.should_see(tr("app.title", lang))
            for tab in TABS:
                await user.should_see(tr(f"tab.{tab}", lang))
                user.find(marker=f"tab-{tab}").click()
            await user.should_see(tr("world.summary", lang))
            await user.should_see(tr("pol.control", lang))
            await user.should_see(tr("verdict.none", lang))
            await user.should_see(tr("history.none", lang))
            await user.should_see(tr("laws.unchecked", lang))
            meaning = "每位用户每天的促销条数" if lang == "zh" else "promos per user per day"
            await user.should_see(meaning)  # a strategy form's parameter, in the language
            user.find(marker="language").click()

    simulate(tmp_path, scenario)


def test_world_choice_is_bounded_and_confined_to_the_root(tmp_path):
    (tmp_path / "mine.yaml").write_text("name: mine\ndays: 60\nstrategies: [{name: blanket}]\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    outside.write_text("name: out\ndays: 60\n")

    async def scenario(user):
        user.find(marker="users").clear().type("999999")
        user.find(marker="apply-world").click()
        await user.should_see("population: expected a whole number")
        user.find(marker="users").clear().type("800")
        _element(user, "world-choice").value = "config:mine.yaml"
        user.find(marker="apply-world").click()
        await user.should_see("mine.yaml")
        await user.should_see("800")
        # a crafted choice (not offered by the menu) naming a file outside the root
        _element(user, "world-choice").value = f"config:../{outside.name}"
        user.find(marker="apply-world").click()
        await user.should_see("outside the lab's folder")
        _element(user, "world-choice").value = f"config:{outside}"
        user.find(marker="apply-world").click()
        await user.should_see("outside the lab's folder")

    simulate(tmp_path, scenario)


RULE = """- name: recall
  when: 'churn_depth == "shallow" and days_since_opn >= 7'
  on: daily
  do: {action: give_coupon, params: {discount: 0.5, valid_days: 7}}
"""


def test_policies_forms_rules_and_check(tmp_path):
    async def scenario(user):
        user.find(marker="users").clear().type(str(TINY["users"]))
        user.find(marker="apply-world").click()
        await settle()
        user.find(marker="rules-1").type(RULE)
        await user.should_see("line 2, column 39", retries=60)
        await user.should_see("did you mean 'days_since_open'")
        rules = _element(user, "rules-1")
        rules.value = RULE.replace("days_since_opn", "days_since_open")
        await user.should_see(marker="rules-ok-1", retries=60)
        await user.should_see("recall")
        # a strategy picked from the registry brings its declared parameters
        user.find(marker="add-arm").click()
        await settle()
        user.find(marker="strategy-2-0").click()
        user.find("recall_coupon").click()
        await settle()
        await user.should_see(marker="param-2-0-discount")
        await user.should_see("share off the price, shallow churn")
        number = _element(user, "param-2-0-discount")
        assert number.value == 0.5 and number.props["max"] == 0.99
        number.value = 5  # out of range: refused by the declaration
        user.find(marker="check").click()
        await settle()
        await user.should_see("discount")
        await user.should_see(tr("pol.invalid", error="")[:8])
        _element(user, "param-2-0-discount").value = 0.3  # the page was re-rendered
        user.find(marker="name").clear().type("../escape")
        user.find(marker="check").click()
        await settle()
        await user.should_see("name '../escape'")
        user.find(marker="name").clear().type("fine")
        user.find(marker="check").click()
        await settle()
        await user.should_see(tr("pol.valid", runs=9, arms=3, reps=3))
        user.find(marker="language").click()  # kept messages follow the language
        await settle()
        await user.should_see(tr("pol.valid", "zh", runs=9, arms=3, reps=3))
        user.find(marker="language").click()
        await settle()
        user.find(marker="remove-arm-2").click()
        await settle()
        await user.should_not_see(marker="param-2-0-discount")

    simulate(tmp_path, scenario)


async def reopen_as_it_was(user, root, exported: str) -> None:
    user.find(marker="open-pagerun").click()
    await user.should_see(marker="badge-arm_a", retries=100)
    await user.should_see(marker="sentence-arm_a")
    user.find(marker="language").click()
    await settle()
    await user.should_see("优于对照组的概率")
    user.find(marker="tab-export").click()
    assert _element(user, "yaml").content.strip() == exported.strip()
    assert exported.strip() == (root / "experiments" / "pagerun.yaml").read_text().strip()
    await user.should_see(marker="folder")
    user.find(marker="language").click()
    await settle()


@pytest.mark.slow
def test_run_from_the_page_then_verdict_export_and_history(tmp_path):
    async def scenario(user):
        user.find(marker="users").clear().type(str(TINY["users"]))
        user.find(marker="days").clear().type(str(TINY["days"]))
        user.find(marker="apply-world").click()
        await settle()
        user.find(marker="replications").clear().type("1")
        user.find(marker="name").clear().type("pagerun")
        user.find(marker="run").click()
        await user.should_see(marker="run-table")
        await user.should_see(marker="badge-arm_a", retries=1200)  # up to two minutes
        await user.should_see(tr("verdict.rule", p="", low="", share="", loss="", retention="",
                                 churn="", alpha="")[:14])  # fmt: skip
        await user.should_see(marker="chart-retention")
        await user.should_see(marker="segments")
        await user.should_see("chance that it beats the control")
        user.find(marker="tab-export").click()
        code = _element(user, "yaml")
        spec = parse_experiment(yaml.safe_load(code.content), "exported")
        assert spec.name == "pagerun" and spec.replications == 1
        assert spec.population.initial_users == TINY["users"]
        user.find(marker="download-yaml").click()
        user.find(marker="download-folder").click()
        await user.should_see(marker="history-pagerun")
        # history: reopen it in a fresh page state, as it was, then read it in Chinese
        await reopen_as_it_was(user, tmp_path, code.content)
        # the same name again is refused on the page, and the first experiment is untouched
        before = (tmp_path / "runs" / "pagerun" / "experiment.json").read_text()
        user.find(marker="run").click()
        await user.should_see("exists already")
        assert (tmp_path / "runs" / "pagerun" / "experiment.json").read_text() == before

    simulate(tmp_path, scenario)
    manifest = json.loads((tmp_path / "runs" / "pagerun" / "experiment.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["config_source"] == str(tmp_path.resolve() / "experiments" / "pagerun.yaml")


@pytest.mark.slow
def test_a_cancelled_run_is_kept_and_marked_interrupted(tmp_path):
    world = worlds.world_data(tmp_path, worlds.WorldChoice(), TINY["users"], 90)
    control = policies.PolicyDraft("blanket", [{"name": "blanket", "params": {}}])
    data = policies.experiment_data("cut", world, control, [control], replications=3)
    job = jobs.start_job(tmp_path, "cut", policies.experiment_yaml(data), workers=1)
    for _ in range(1200):  # until the first run has finished (with nothing finished, the
        # executor leaves no folder at all)
        if job.snapshot()["finished_runs"] or job.finished:
            break
        time.sleep(0.05)
    job.cancel()
    job.wait()
    assert job.state == jobs.CANCELLED
    manifest = json.loads((tmp_path / "runs" / "cut" / "experiment.json").read_text())
    assert manifest["status"] == "interrupted"  # kept: `siyu run --resume` continues it
    assert (tmp_path / "experiments" / "cut.yaml").is_file()


def test_laws_check_from_the_page_is_stored_and_shown(tmp_path, monkeypatch):
    from sim.lab import app as lab_app

    def fake_check(root, data, only=None):  # the real replay takes minutes (tests/laws)
        result = {
            "passed": True,
            "held": 2,
            "total": 2,
            "laws": [
                {
                    "key": "1a",
                    "title": "law one",
                    "shown": "0.5",
                    "band": "[0, 1]",
                    "status": "holds",
                },
                {"key": "1b", "title": "law two", "shown": "3", "band": None, "status": "holds"},
            ],
        }
        path = worlds.laws_path(root, data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
        return result

    monkeypatch.setattr(lab_app.worlds, "check_laws", fake_check)

    async def scenario(user):
        user.find(marker="check-laws").click()
        await user.should_see(tr("laws.result", held=2, total=2), retries=50)
        user.find(marker="language").click()
        await settle()
        await user.should_see(tr("laws.result", "zh", held=2, total=2))

    simulate(tmp_path, scenario)


@pytest.mark.slow
def test_cancel_from_the_page(tmp_path):
    async def scenario(user):
        user.find(marker="users").clear().type(str(TINY["users"]))
        user.find(marker="days").clear().type("120")
        user.find(marker="apply-world").click()
        await settle()
        user.find(marker="name").clear().type("stopme")
        user.find(marker="run").click()
        await settle()
        user.find(marker="cancel").click()
        await user.should_see(tr("run.state.cancelled", folder="")[:9], retries=600)
        await user.should_not_see(marker="cancel")

    simulate(tmp_path, scenario)
    assert (tmp_path / "experiments" / "stopme.yaml").is_file()  # what was asked is kept
