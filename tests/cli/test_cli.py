"""The ``siyu`` command line: validate, run, strategies. Bad input of every kind gives one message
naming the file and the key path, exit status 2, and writes nothing (an earlier run at ``--out``
stays byte-identical). Most tests call :func:`sim.cli.main.main` in-process; one runs the installed
console script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from sim.cli import experiment as experiment_cli
from sim.cli.main import main
from sim.errors import SiyuWarning
from sim.runs.folder import is_complete_run, load_run
from strategies.registry import available

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
TINY = ["--users", "2000", "--days", "20", "--quiet"]
TABLES = {"daily", "users", "transitions", "purchases", "groups", "costs"}
PNG = b"\x89PNG\r\n\x1a\n"

GOOD = "name: ok\nseed: 3\ndays: 5\npopulation:\n  initial_users: 300\n"
STRATEGY = GOOD + "strategies:\n  - name: {name}\n    params: {params}\n"

# (label, YAML text, words the message must contain besides the file name)
BAD_CONFIGS = [
    ("unknown top-level key", GOOD + "seeed: 4\n", ["seeed", "unknown key"]),
    ("unknown nested key", GOOD + "  initial_userz: 5\n", ["population.initial_userz"]),
    ("days out of range", GOOD.replace("days: 5", "days: 0"), ["days", "greater than"]),
    ("capacity out of range", GOOD + "world:\n  groups: {capacity: 1}\n",
     ["world.groups.capacity"]),
    ("wrong type", GOOD.replace("days: 5", "days: many"), ["days", "integer"]),
    ("wrong nested type", GOOD + "world:\n  behaviour: {open_fatigue: high}\n",
     ["world.behaviour.open_fatigue", "number"]),
    ("malformed YAML", "name: broken\ndays: 5\npopulation:\n  initial_users: 100\n bad: 3\n",
     ["invalid YAML", "line 5, column 2"]),
    ("not a mapping", "- just\n- a list\n", ["mapping"]),
    ("unknown strategy", STRATEGY.format(name="blanketz", params="{}"),
     ["strategies.0.name", "blanketz"]),
    ("unknown strategy parameter", STRATEGY.format(name="blanket", params="{promos_per_dai: 1}"),
     ["strategies.0.params.promos_per_dai", "unknown parameter"]),
    ("bad strategy parameter type", STRATEGY.format(name="blanket", params="{promos_per_day: x}"),
     ["strategies.0.params.promos_per_day"]),
    ("bad strategy parameter value",
     STRATEGY.format(name="blanket", params="{promos_per_day: 500}"),
     ["strategies.0.params", "promos_per_day"]),
]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A complete run folder written by ``siyu run`` on the quickstart config, scaled down."""
    out = tmp_path_factory.mktemp("cli") / "tiny"
    assert main(["run", str(QUICKSTART), "--out", str(out), *TINY]) == 0
    return out


@pytest.fixture
def earlier_run(tiny_run, tmp_path) -> Path:
    """A private copy of the tiny run, to be protected from failing commands."""
    return Path(shutil.copytree(tiny_run, tmp_path / "earlier"))


def test_validate_quickstart(capsys):
    assert main(["validate", str(QUICKSTART)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.yaml")
                                         if "twin" not in p.name))  # fmt: skip
def test_validate_every_ready_made_config(name, capsys):
    assert main(["validate", str(ROOT / "experiments" / name)]) == 0
    assert "OK" in capsys.readouterr().out


def test_validate_checks_every_arm_and_sweep_cell_of_an_experiment(tmp_path, capsys):
    arms = ("control:\n  strategies: [{name: blanket}]\narms:\n  push:\n    strategies:\n"
            "      - name: blanket\n        params: {promos_per_day: 2}\n")  # fmt: skip
    good = tmp_path / "good.yaml"
    good.write_text(GOOD + "replications: 2\n" + arms)
    assert main(["validate", str(good)]) == 0
    assert "2 arms (control, push) × 2 replication(s)" in capsys.readouterr().out
    bad_arm = tmp_path / "bad_arm.yaml"
    bad_arm.write_text(GOOD + arms.replace("promos_per_day: 2", "promos_per_dai: 2"))
    assert main(["validate", str(bad_arm)]) == 2
    err = capsys.readouterr().err
    assert str(bad_arm) in err and "arms.push" in err and "promos_per_dai" in err
    bad_cell = tmp_path / "bad_cell.yaml"
    sweep = ("sweep:\n  method: grid\n  parameters:\n"
             "    arms.push.strategies.0.params.promos_per_day: [2, 500]\n")  # fmt: skip
    bad_cell.write_text(GOOD + arms + sweep)
    assert main(["validate", str(bad_cell)]) == 2
    err = capsys.readouterr().err
    assert "sweep cell c001" in err and "promos_per_day=500" in err and "arms.push" in err


def test_run_writes_a_complete_folder(tiny_run):
    assert is_complete_run(tiny_run)
    run = load_run(tiny_run)
    assert set(run.table_names) >= TABLES
    assert run.verify() == []
    pngs = sorted((tiny_run / "plots").glob("*.png"))
    assert len(pngs) == 5
    assert all(p.read_bytes().startswith(PNG) for p in pngs)
    assert run.manifest["days"] == 20
    assert run.manifest["config"]["population"]["initial_users"] == 2000
    assert run.table("daily")["day"].max() == 19
    assert (run.table("users")["join_day"] < 0).sum() == 2000


@pytest.mark.parametrize("label, text, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_config_is_a_clear_error(tmp_path, capsys, command, label, text, words):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    out = tmp_path / "out"
    extra = ["--out", str(out), "--quiet"] if command == "run" else []
    assert main([command, str(config), *extra]) == 2
    captured = capsys.readouterr()
    assert str(config) in captured.err
    for word in words:
        assert word in captured.err, (label, captured.err)
    assert "Traceback" not in captured.err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]  # no temporary leftovers


@pytest.mark.parametrize("label, text, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_leaves_earlier_run_untouched(earlier_run, tmp_path, capsys, label, text, words):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    before = snapshot(earlier_run)
    assert main(["run", str(config), "--out", str(earlier_run), "--overwrite", "--quiet"]) == 2
    assert snapshot(earlier_run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "earlier"]


def test_missing_config_file(earlier_run, tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    before = snapshot(earlier_run)
    for out in (tmp_path / "out", earlier_run):
        assert main(["run", str(missing), "--out", str(out), "--overwrite", "--quiet"]) == 2
        assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert snapshot(earlier_run) == before


def test_run_refuses_to_overwrite_without_flag(earlier_run, capsys):
    before = snapshot(earlier_run)
    assert main(["run", str(QUICKSTART), "--out", str(earlier_run), *TINY, "--seed", "9"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert snapshot(earlier_run) == before


def test_run_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    args = ["run", str(QUICKSTART), "--out", str(precious), *TINY, "--overwrite"]
    assert main(args) == 2
    assert "not a siyu run" in capsys.readouterr().err
    assert snapshot(precious) == {"thesis.txt": b"do not delete"}


def test_overwrite_replaces_the_run(earlier_run, capsys):
    args = ["run", str(QUICKSTART), "--out", str(earlier_run), *TINY, "--seed", "9", "--overwrite"]
    assert main(args) == 0
    assert is_complete_run(earlier_run)
    assert load_run(earlier_run).manifest["seed"] == 9


def test_strategies_list_and_show(capsys):
    assert main(["strategies", "list"]) == 0
    listed = capsys.readouterr().out
    for name in available():
        assert name in listed
    assert main(["strategies", "show", "blanket"]) == 0
    shown = capsys.readouterr().out
    assert "promos_per_day" in shown and "cost model" in shown
    assert main(["strategies", "show", "no_such_strategy"]) == 2
    assert "no_such_strategy" in capsys.readouterr().err


def test_strategy_tables_fit_80_columns_and_point_to_the_sources(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["strategies", "list"]) == 0
    listed = capsys.readouterr().out
    assert "…" not in listed and max(len(line) for line in listed.splitlines()) <= 80
    assert "docs/SOURCES.md" in listed
    assert main(["strategies", "show", "tiered_content"]) == 0
    shown = capsys.readouterr().out
    assert "…" not in shown and "docs/SOURCES.md" in shown
    assert "costs.message = ¥" in shown  # the cost model with its amount
    assert "``" not in shown  # docstrings rendered, not raw reStructuredText


@pytest.mark.slow
def test_console_script_entry_point():
    script = Path(sys.executable).with_name("siyu")
    done = subprocess.run([str(script), "validate", str(QUICKSTART)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def test_the_readme_test_command_is_the_ci_one_and_safe_in_a_fresh_shell():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    command = next(b for b in blocks if b.endswith("pytest"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == command  # CI runs exactly what the README tells a reader to run
    assert ". .venv/bin/activate" in command and "python3 -m venv .venv" in command
    assert command.index("activate") < command.index("pip install")  # never the system Python


def test_warnings_print_as_one_line_and_quiet_hides_them(capsys, monkeypatch):
    def warns(args) -> int:
        warnings.warn(SiyuWarning("Cox model: the fit converged poorly"), stacklevel=1)
        return 0

    monkeypatch.setattr(experiment_cli, "cmd_report", warns)
    assert main(["report", "somewhere"]) == 0
    assert capsys.readouterr().err == "warning: Cox model: the fit converged poorly\n"
    assert main(["report", "somewhere", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
