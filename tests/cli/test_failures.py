"""The command line's one error boundary (sim.cli.failures): an expected failure is one line naming
the file and the fix, with exit 2 for input errors, 1 for the machine's (disk full, read-only,
permissions) and 130 for Ctrl-C; the traceback only with --debug; a bug keeps its traceback."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from sim.cli import commands as cli_commands
from sim.cli import validate as cli_validate
from sim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
EVENTS = "user_id,timestamp,event,amount\nu1,2024-01-02,join,\nu1,2024-01-05,purchase,9.9\n"


def _failing_validate(monkeypatch, exc: BaseException) -> None:
    def fail(_args):
        raise exc

    monkeypatch.setattr(cli_validate, "cmd_validate", fail)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, ["no space left", "nothing half-written"]),
        (errno.EROFS, ["read-only", "--out"]),
        (errno.EACCES, ["permission denied", "--out"]),
    ],
)
def test_the_machines_failures_are_one_line_naming_the_file(monkeypatch, capsys, code, words):
    target = "/data/runs/x/daily.parquet"
    _failing_validate(monkeypatch, OSError(code, "os message", target))
    assert main(["validate", str(QUICKSTART)]) == 1
    line = _one_line(capsys)
    assert target in line and all(w in line for w in words)


def test_a_failure_in_a_temporary_sibling_names_the_target(monkeypatch, capsys) -> None:
    _failing_validate(monkeypatch, OSError(errno.EROFS, "ro", "/ro/runs/.qs.tmp-0a1b2c"))
    assert main(["validate", str(QUICKSTART)]) == 1
    assert _one_line(capsys).startswith("error: /ro/runs/qs: the file system is read-only")


def test_ctrl_c_exits_130_and_says_how_to_resume(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        cli_commands, "cmd_run", lambda _a: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    assert main(["run", str(QUICKSTART)]) == 130
    assert "--resume" in _one_line(capsys)


def test_debug_adds_the_traceback_anywhere_on_the_line(monkeypatch, capsys) -> None:
    _failing_validate(monkeypatch, OSError(errno.ENOSPC, "full", "/x"))
    assert main(["validate", str(QUICKSTART), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: /x:")


def test_a_bug_keeps_its_traceback(monkeypatch) -> None:
    _failing_validate(monkeypatch, ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError):
        main(["validate", str(QUICKSTART)])


def test_a_config_that_is_not_utf8_is_an_input_error_naming_it(tmp_path, capsys) -> None:
    config = tmp_path / "utf16.yaml"
    config.write_bytes("name: x\ndays: 5\n".encode("utf-16"))
    assert main(["validate", str(config)]) == 2
    assert str(config) in _one_line(capsys)


def test_a_corrupt_parquet_input_is_an_input_error_naming_it(tmp_path, capsys) -> None:
    events = tmp_path / "events.parquet"
    events.write_bytes(b"PAR1" + bytes(200))
    argv = ["twin", "fit", "--events", str(events), "--calibration-end", "2024-06-30",
            "--out", str(tmp_path / "twin")]  # fmt: skip
    assert main(argv) == 2
    assert str(events) in _one_line(capsys)
    assert not (tmp_path / "twin").exists()


@pytest.mark.parametrize("where", ["same", "existing", "folder"])
def test_the_quarantine_file_is_an_output_like_any_other(tmp_path, capsys, where) -> None:
    events = tmp_path / "ev.csv"
    events.write_text(EVENTS + "u2,not a date,join,\n", encoding="utf-8")
    target = {"same": events, "existing": tmp_path / "notes.csv", "folder": tmp_path}[where]
    if where == "existing":
        target.write_text("my notes\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.glob("*.csv")}
    argv = ["twin", "fit", "--events", str(events), "--calibration-end", "2024-06-30",
            "--quarantine", str(target), "--out", str(tmp_path / "twin")]  # fmt: skip
    assert main(argv) == 2
    assert "--quarantine" in _one_line(capsys)
    assert {p: p.read_bytes() for p in tmp_path.glob("*.csv")} == before
    assert not (tmp_path / "twin").exists()


def test_aa_out_refuses_a_folder_holding_other_files(tmp_path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "aa_summary.parquet").write_bytes(b"not ours")
    (out / "thesis.docx").write_bytes(b"precious")
    argv = ["aa", str(ROOT / "experiments" / "tiered_vs_blanket.yaml"), "--repetitions", "2",
            "--users", "300", "--days", "5", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main([*argv, "--overwrite"]) == 2
    assert "holds other files" in _one_line(capsys)
    assert (out / "aa_summary.parquet").read_bytes() == b"not ours"


@pytest.mark.parametrize(
    "argv",
    [["run", str(QUICKSTART), "--workers", "-1"], ["aa", str(QUICKSTART), "--repetitions", "0"]],
)
def test_counts_of_workers_and_repetitions_must_be_positive(argv, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert ">= 1" in capsys.readouterr().err
