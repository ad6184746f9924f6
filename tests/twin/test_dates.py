"""One ISO 8601 date parser for flags and files; windows checked against the data's span."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli.main import main
from sim.twin.dates import DateError, check_window, parse_day

FIRST, LAST = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30")


@pytest.mark.parametrize(
    "text, day",
    [
        ("2024-03-04", "2024-03-04"),
        ("2024-03-04 23:30", "2024-03-04"),
        ("2024-03-04T01:00:00+08:00", "2024-03-03"),  # the UTC day, as for the files
    ],
)
def test_iso_dates_are_read(text, day):
    assert parse_day(text, "--until") == pd.Timestamp(day)


@pytest.mark.parametrize("text", ["03/04/2024", "4 March 2024", "2024-13-01", "yesterday", ""])
def test_anything_else_is_refused_with_the_expected_format(text):
    with pytest.raises(DateError, match="--calibration-end: expected an ISO 8601 date"):
        parse_day(text, "--calibration-end")


@pytest.mark.parametrize(
    "cal, until, wrong",
    [
        ("2030-01-01", None, "--calibration-end 2030-01-01 is after the data"),
        ("2023-06-01", None, "--calibration-end 2023-06-01 is before the data"),
        ("2024-03-01", "2026-01-01", "--until 2026-01-01 is after the data"),
    ],
)
def test_windows_outside_the_data_are_refused(cal, until, wrong):
    with pytest.raises(DateError, match=wrong):
        check_window(FIRST, LAST, pd.Timestamp(cal), until and pd.Timestamp(until))


def test_windows_inside_the_data_pass():
    check_window(FIRST, LAST, pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-30"))
    check_window(FIRST, LAST, LAST)


@pytest.fixture
def events_csv(tmp_path):
    rows = [f"u{i % 7},2024-0{1 + i % 4}-1{i % 9},purchase,{10 + i}" for i in range(60)]
    path = tmp_path / "ev.csv"
    path.write_text("user_id,timestamp,event,amount\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "--calibration-end", "2030-01-01"], "is after the data"),
        (["fit", "--calibration-end", "03/04/2024"], "expected an ISO 8601 date"),
        (["backtest", "--calibration-end", "2024-03-01", "--until", "2026-01-01"],
         "--until 2026-01-01 is after the data"),
    ],
)  # fmt: skip
def test_the_cli_refuses_windows_the_data_does_not_cover(
    events_csv, tmp_path, argv, message, capsys
):
    out = tmp_path / "out"
    code = main(["twin", *argv, "--events", str(events_csv), "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
