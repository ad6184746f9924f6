"""Same config and seed ⇒ the same tables and the same Parquet bytes; another seed ⇒ another world;
the command line's ``--seed`` reaches the run.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli.main import main
from sim.runs.folder import load_run, write_run


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def parquet_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


@pytest.fixture(scope="module")
def twin_runs(runs, run_world, make_blanket, make_busy):
    """A second, independent run of the shared busy and blanket worlds."""
    config, _ = runs["busy"]
    blanket_config, _ = runs["blanket"]
    return {
        "busy": run_world(config, [make_busy()]),
        "blanket": run_world(blanket_config, [make_blanket()]),
    }


@pytest.mark.parametrize("policy", ["busy", "blanket"])
def test_same_seed_same_tables(runs, twin_runs, policy):
    assert_same_tables(runs[policy][1], twin_runs[policy])


@pytest.mark.parametrize("policy", ["busy", "blanket"])
def test_same_seed_same_parquet_bytes(runs, twin_runs, policy, tmp_path):
    first = write_run(tmp_path / "a", runs[policy][1], {"name": "a"})
    second = write_run(tmp_path / "b", twin_runs[policy], {"name": "a"})
    a, b = parquet_bytes(first), parquet_bytes(second)
    assert len(a) == len(runs[policy][1])
    assert a == b


def test_strategy_instance_can_be_reused(runs, run_world, make_blanket):
    """A strategy object is cloned per run, so reusing it gives the same result."""
    config, tables = runs["blanket"]
    strategy = make_blanket()
    run_world(config, [strategy])
    assert_same_tables(tables, run_world(config, [strategy]))


def test_different_seed_different_world(runs, make_config, run_world):
    config, tables = runs["none"]
    other = run_world(make_config(seed=config.seed + 1))
    assert not set(other["users"]["user_id"]) & set(tables["users"]["user_id"])
    assert not other["daily"]["arrivals"].equals(tables["daily"]["arrivals"])
    assert not other["users"]["income"].equals(tables["users"]["income"])
    assert not other["transitions"].equals(tables["transitions"])


def test_cli_seed_override(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: seeded\nseed: 1\ndays: 5\npopulation: {initial_users: 300}\n"
                      "output: {plots: false}\n")  # fmt: skip
    folders = {}
    for label, extra in (("config", []), ("s7", ["--seed", "7"]), ("s7b", ["--seed", "7"])):
        out = tmp_path / label
        assert main(["run", str(config), "--out", str(out), "--quiet", *extra]) == 0
        folders[label] = load_run(out)
    capsys.readouterr()
    assert folders["config"].manifest["seed"] == 1
    assert folders["s7"].manifest["seed"] == 7
    assert folders["s7"].manifest["config"]["seed"] == 7
    users = {k: f.table("users") for k, f in folders.items()}
    assert not users["config"]["user_id"].equals(users["s7"]["user_id"])
    pd.testing.assert_frame_equal(users["s7"], users["s7b"])
    assert parquet_bytes(folders["s7"].path) == parquet_bytes(folders["s7b"].path)
