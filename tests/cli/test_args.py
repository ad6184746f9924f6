"""Counts on the command line are whole numbers >= 1, refused by argparse naming the flag."""

from __future__ import annotations

import pytest

from sim.cli.main import main


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["aa", "x.yaml", "--repetitions", "0"], "--repetitions"),
        (["aa", "x.yaml", "--workers", "-1"], "--workers"),
        (["run", "x.yaml", "--workers", "0"], "--workers"),
        (["twin", "backtest", "--events", "e.csv", "--calibration-end", "2024-01-01",
          "--until", "2024-02-01", "--out", "o", "--draws", "x"], "--draws"),
    ],
)  # fmt: skip
def test_counts_below_one_are_refused_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert flag in capsys.readouterr().err
