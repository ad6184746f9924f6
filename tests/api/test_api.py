"""The Python front door (``sim.run``, ``sim.run_experiment``, ``sim.load_run``,
``sim.load_experiment``): the README's example runs as written, every kind of config input means
the same run, the config's policy is applied, and folders read back to what was returned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas.testing as pdt
import pytest
import yaml

import sim
from sim.config import parse_config
from sim.engine.simulation import Simulation
from sim.errors import ConfigError
from sim.experiment.spec import read_experiment_spec
from sim.runs.folder import RunFolderError
from sim.world.actions import ACTION_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
PROMO = ACTION_COLUMNS["send_promo"]  # promo messages sent, a column of daily


def _config_data(**extra: Any) -> dict[str, Any]:
    """A small world under a blanket promo and one rule (rewards to trusting users)."""
    return {
        "name": "api-test", "seed": 11, "days": 12,
        "population": {"initial_users": 600, "arrivals_per_day": {"organic": 5.0}},
        "output": {"plots": False},
        "strategies": [{"name": "blanket", "params": {"promos_per_day": 1.0}}],
        "rules": [{"name": "thank", "when": "trust > 0.3",
                   "do": {"action": "reward", "params": {"points": 1.0}}}],
        **extra,
    }  # fmt: skip


def _assert_same_tables(a, b) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        pdt.assert_frame_equal(a[name], b[name], obj=name)


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


# --------------------------------------------------------------------------- the README example
@pytest.fixture(scope="module")
def readme_example(tmp_path_factory) -> dict[str, Any]:
    """Execute the README's Python blocks as a reader would from the repository root, except that
    the folder is a temporary copy of the root (``experiments/`` linked) so outputs land there."""
    blocks = _python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python example"
    here = tmp_path_factory.mktemp("readme")
    (here / "experiments").symlink_to(ROOT / "experiments")
    namespace: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    namespace["_cwd"] = here
    return namespace


def test_the_readme_example_runs_and_reads_back_what_it_ran(readme_example) -> None:
    r, e, again = readme_example["r"], readme_example["e"], readme_example["again"]
    assert r.folder is None and r.config.days == len(r.tables["daily"])
    assert r.config.population.initial_users == 2000
    assert e.folder == readme_example["_cwd"] / "runs/tiered_small"  # absolute
    pdt.assert_frame_equal(again.comparison, e.comparison)
    assert sorted(again.tables) == sorted(e.tables) and "comparison" in e.tables
    assert set(e.comparison["arm"]) == set(e.spec.arms)


def test_an_experiments_runs_are_its_run_folders(readme_example) -> None:
    e = readme_example["e"]
    loaded = [sim.load_run(e.folder / rel) for rel in e.runs]  # e.folder is absolute
    assert len(loaded) == len(e.spec.arm_names) * e.spec.replications
    assert {run.config.name for run in loaded} == {f"{e.spec.name}-{a}" for a in e.spec.arm_names}
    assert all(len(run.tables["daily"]) == e.spec.days for run in loaded)


# --------------------------------------------------------------------------- sim.run
@pytest.fixture(scope="module")
def small_run() -> sim.RunResult:
    return sim.run(_config_data())


def test_a_run_applies_the_configs_strategies_and_rules(small_run) -> None:
    costs = small_run.tables["costs"]
    assert (costs.loc[costs["strategy"] == "blanket", "units"] > 0).any()
    assert (costs["strategy"] == "rules:thank").any()
    assert small_run.tables["daily"][PROMO].sum() > 0


def test_simulation_of_a_config_runs_the_same_policy_as_sim_run(small_run) -> None:
    config = parse_config(_config_data(), "<test>")
    _assert_same_tables(Simulation(config).run().tables, small_run.tables)
    nothing = Simulation(config, []).run().tables  # an explicit list replaces the config's policy
    assert nothing["costs"].empty and nothing["daily"][PROMO].sum() == 0


def test_a_file_a_dict_and_a_config_object_are_the_same_run(small_run, tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config_data()), encoding="utf-8")
    from_file = sim.run(path)
    from_object = sim.run(parse_config(_config_data(), "<test>"))
    _assert_same_tables(from_file.tables, small_run.tables)
    _assert_same_tables(from_object.tables, small_run.tables)
    assert from_file.manifest["config_source"] == str(path)
    assert small_run.manifest["config_source"] == "<dict>"
    assert from_file.config == from_object.config == small_run.config


@pytest.mark.parametrize("as_object", [False, True])
def test_overrides_replace_the_configs_size_horizon_and_seed(as_object, small_run) -> None:
    config = parse_config(_config_data(), "<test>") if as_object else _config_data()
    r = sim.run(config, users=300, days=5, seed=3)
    assert (r.config.population.initial_users, r.config.days, r.config.seed) == (300, 5, 3)
    assert len(r.tables["daily"]) == 5 and r.manifest["seed"] == 3
    assert len(r.tables["users"]) < len(small_run.tables["users"])


def test_a_run_without_out_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = sim.run(_config_data(days=3))
    assert r.folder is None and "timings" in r.manifest and list(tmp_path.iterdir()) == []


def test_a_written_run_loads_back_as_it_was_returned(tmp_path) -> None:
    written = sim.run(_config_data(days=5), out=tmp_path / "run")
    loaded = sim.load_run(tmp_path / "run")
    assert written.folder == loaded.folder == (tmp_path / "run").absolute()
    assert loaded.config == written.config and loaded.manifest == written.manifest
    assert loaded.manifest["complete"] is True
    _assert_same_tables(dict(loaded.tables), written.tables)


def test_an_unknown_key_in_a_dict_is_a_config_error_naming_it() -> None:
    data = _config_data()
    data["population"] = {**data["population"], "initial_userz": 10}
    with pytest.raises(ConfigError, match=r"(?s)^<dict>.*population\.initial_userz: unknown key"):
        sim.run(data)


@pytest.mark.parametrize(
    "config",
    [
        ROOT / "experiments/tiered_vs_blanket.yaml",
        {**_config_data(), "arms": {"b": {}}},
        read_experiment_spec(ROOT / "experiments/tiered_vs_blanket.yaml"),
    ],
    ids=["file", "dict", "spec"],
)
def test_an_experiment_given_to_run_points_at_run_experiment(config, tmp_path) -> None:
    with pytest.raises(ConfigError, match="run_experiment"):
        sim.run(config, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_importing_a_low_module_does_not_load_the_front_door() -> None:
    code = "import sys, sim.rng; print('sim.api' in sys.modules, 'sim.engine' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT, env=env)  # fmt: skip
    assert done.stdout.split() == ["False", "False"]
    assert isinstance(sim.run_experiment, type(sim.run)) and "run" in dir(sim)


def test_load_experiment_refuses_a_folder_that_is_not_an_experiment(tmp_path) -> None:
    with pytest.raises(RunFolderError, match="not a siyu experiment"):
        sim.load_experiment(tmp_path)


def test_the_readme_blocks_are_found() -> None:
    text = "a\n```python\nx = 1\n```\nb\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert _python_blocks(text) == ["x = 1\n", "y = 2\n"]
