"""Event-log and users-table import (sim/twin/events.py): schema, errors, quarantine, merge.

``tests/data/twin/events_messy.csv`` is a hand-written log: lines 2-4, 6, 16 and 17 are good
(line 4 has a capitalised event; line 5 is blank; line 16 is a ``leave``
with amount 0), and each of lines 7-15 is malformed in one documented way.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.twin.events import EVENT_TYPES, EventFileError, load_events, load_users

MESSY = Path(__file__).parents[1] / "data" / "twin" / "events_messy.csv"
GOOD_LINES = [2, 3, 4, 6, 16, 17]
BAD_LINES = {
    7: "amount is not a number (got 'abc')",
    8: "missing user_id",
    9: "unparseable timestamp",
    10: "unknown event, expected one of purchase, active, open, message, join, leave (got 'buy')",
    11: "negative amount (got '-5')",
    12: "purchase without an amount",
    13: "amount on a non-purchase event",
    14: "amount is not finite (got 'inf')",
    15: "expected 5 fields, got 6",
}
HEADER = "user_id,timestamp,event,amount\n"


def _csv(tmp_path: Path, body: str, name: str = "events.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _problem_lines(message: str) -> dict[int, str]:
    out = {}
    for line in message.splitlines()[1:]:
        where, _, reason = line.strip().partition(": ")
        if where.startswith("line "):
            out[int(where.split()[1])] = reason
    return out


# ----------------------------------------------------------------------------- the schema


def test_clean_log_has_the_documented_schema(tmp_path):
    path = _csv(
        tmp_path,
        "b,2024-03-02 10:00:00,purchase,20\n"
        "a,2024-03-03,OPEN,\n"
        " a ,2024-03-01 08:30,purchase,9.9\n"
        "b,2024-03-01 04:00,active,0\n",
    )
    log = load_events(path)
    ev = log.events
    assert list(ev.columns) == ["user_id", "timestamp", "date", "event", "amount"]
    assert ev["user_id"].dtype == "string"
    assert ev["timestamp"].dtype == "datetime64[ns]" and ev["date"].dtype == "datetime64[ns]"
    assert list(ev["event"].cat.categories) == list(EVENT_TYPES)
    assert ev["amount"].dtype == np.float64
    assert ev["user_id"].tolist() == ["a", "a", "b", "b"]  # stripped, sorted by user then time
    assert ev["timestamp"].tolist() == [
        pd.Timestamp("2024-03-01 08:30"),
        pd.Timestamp("2024-03-03"),
        pd.Timestamp("2024-03-01 04:00"),
        pd.Timestamp("2024-03-02 10:00"),
    ]
    assert (ev["date"] == ev["timestamp"].dt.normalize()).all()
    assert ev["event"].tolist() == ["purchase", "open", "active", "purchase"]
    assert ev["amount"].isna().tolist() == [False, True, True, False]
    assert (log.rows_read, log.rows_quarantined, log.merged_purchases) == (4, 0, 0)
    assert log.source == str(path)


def test_offsets_are_converted_to_utc(tmp_path):
    path = _csv(tmp_path, "b,2024-03-01T02:00:00+08:00,active,\nb,2024-03-01T12:00:00Z,open,\n")
    stamps = load_events(path).events["timestamp"].tolist()
    assert stamps == [pd.Timestamp("2024-02-29 18:00"), pd.Timestamp("2024-03-01 12:00")]


def test_offsets_and_naive_times_in_one_log_are_refused_naming_the_lines(tmp_path):
    path = _csv(tmp_path, "a,2024-03-01 01:00,active,\nb,2024-03-01T01:00:00+08:00,active,\n")
    with pytest.raises(
        EventFileError, match="events.csv: line 3 has a time-zone offset but line 2"
    ):
        load_events(path)


def test_a_utf16_log_names_the_file_and_the_encoding_expected(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_text(HEADER + "a,2024-03-01,active,\n", encoding="utf-16")
    with pytest.raises(EventFileError, match="u16.csv: expected UTF-8 text .*UTF-16"):
        load_events(path)


def test_ties_keep_file_order(tmp_path):
    path = _csv(tmp_path, "u,2024-01-01,open,\nu,2024-01-01,active,\nu,2024-01-01,message,\n")
    assert load_events(path).events["event"].tolist() == ["open", "active", "message"]


def test_parquet_gives_the_same_frame_as_csv(tmp_path):
    csv_path = _csv(
        tmp_path, "7,2024-03-02 10:00:00,purchase,20\n3,2024-03-01,join,\n3,2024-03-05,leave,\n"
    )
    table = pa.table(
        {
            "user_id": pa.array([7, 3, 3], pa.int64()),
            "timestamp": pa.array(
                pd.to_datetime(["2024-03-02 18:00", "2024-03-01 08:00", "2024-03-05 08:00"])
                .tz_localize("Asia/Shanghai")
                .tz_convert("Asia/Shanghai")
            ),
            "event": pa.array(["purchase", "join", "leave"]).dictionary_encode(),
            "amount": pa.array([20, None, None], pa.int32()),
        }
    )
    pq_path = tmp_path / "events.parquet"
    pq.write_table(table, pq_path)
    pd.testing.assert_frame_equal(load_events(pq_path).events, load_events(csv_path).events)


def test_gzipped_csv_and_column_mapping(tmp_path):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("customer,order_date,kind,total\nc1,2024-05-01,purchase,12.5\n")
    log = load_events(
        path,
        columns={
            "user_id": "customer",
            "timestamp": "order_date",
            "event": "kind",
            "amount": "total",
        },
    )
    assert log.events["user_id"].tolist() == ["c1"] and log.events["amount"].tolist() == [12.5]


def test_other_encodings(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "用户1,2024-05-01,purchase,9.9\n").encode("gbk"))
    with pytest.raises(EventFileError, match="encoding"):
        load_events(path)
    assert load_events(path, encoding="gbk").events["user_id"].tolist() == ["用户1"]


def test_amount_column_optional_without_purchases(tmp_path):
    path = _csv(tmp_path, "u,2024-01-01,open\n", header="user_id,timestamp,event\n")
    assert load_events(path).events["amount"].isna().all()
    path = _csv(tmp_path, "u,2024-01-01,purchase\n", header="user_id,timestamp,event\n")
    with pytest.raises(EventFileError, match="no amount column but 1 purchase rows"):
        load_events(path)


# ----------------------------------------------------------------------------- malformed rows


def test_messy_file_stops_listing_every_problem_with_its_line():
    with pytest.raises(EventFileError) as info:
        load_events(MESSY)
    message = str(info.value)
    assert message.startswith(f"{MESSY}: 9 malformed rows")
    assert "counting the header as line 1" in message
    problems = _problem_lines(message)
    assert sorted(problems) == sorted(BAD_LINES)
    for line, reason in BAD_LINES.items():
        assert reason in problems[line], (line, problems[line])


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",2024-01-01,open,", "missing user_id"),
        ("u,,open,", "missing timestamp"),
        ("u,yesterday,open,", "unparseable timestamp, expected an ISO 8601 date"),
        ("u,05/01/2024,open,", "unparseable timestamp"),
        ("u,2024-01-01,,", "missing event"),
        ("u,2024-01-01,refund,3", "unknown event, expected one of purchase"),
        ("u,2024-01-01,purchase,", "purchase without an amount"),
        ("u,2024-01-01,purchase,¥12", "amount is not a number (got '¥12')"),
        ("u,2024-01-01,purchase,nan", "amount is not a number (got 'nan')"),
        ("u,2024-01-01,purchase,-0.5", "negative amount (got '-0.5')"),
        ("u,2024-01-01,purchase,-inf", "amount is not finite"),
        ("u,2024-01-01,open,12", "amount on a non-purchase event"),
        ("u,2024-01-01,open,,x", "expected 4 fields, got 5"),
        ("u,2024-01-01", "expected 4 fields, got 2"),
    ],
)
def test_each_kind_of_bad_row_has_its_message(tmp_path, row, reason):
    path = _csv(tmp_path, f"ok,2024-01-01,open,\n{row}\n")
    with pytest.raises(EventFileError) as info:
        load_events(path)
    problems = _problem_lines(str(info.value))
    assert list(problems) == [3]
    assert reason in problems[3]


def test_a_row_empty_only_in_the_used_columns_is_not_a_blank_line(tmp_path):
    header = "user_id,timestamp,event,amount,note\n"
    path = _csv(tmp_path, "a,2024-01-01,open,,\n\n,,,,call back\n,,,,\n", header=header)
    message = str(pytest.raises(EventFileError, load_events, path).value)
    assert list(_problem_lines(message)) == [4]  # line 3 is blank, line 5 only commas
    assert "missing user_id; missing timestamp; missing event" in message


def test_several_problems_in_one_row_are_all_named(tmp_path):
    path = _csv(tmp_path, ",never,buy,\n")
    reason = _problem_lines(str(pytest.raises(EventFileError, load_events, path).value))[2]
    assert "missing user_id" in reason and "unparseable timestamp" in reason
    assert "unknown event" in reason


def test_error_list_is_capped_but_the_total_is_given(tmp_path):
    path = _csv(tmp_path, "".join(f"u{i},bad,open,\n" for i in range(30)))
    message = str(pytest.raises(EventFileError, load_events, path, max_errors_shown=5).value)
    assert "30 malformed rows" in message
    assert sorted(_problem_lines(message)) == [2, 3, 4, 5, 6]
    assert "... and 25 more" in message


def test_parquet_problems_are_numbered_by_row_from_zero(tmp_path):
    path = tmp_path / "events.parquet"
    pq.write_table(
        pa.table(
            {
                "user_id": ["a", "b", None],
                "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                "event": ["open", "purchase", "open"],
                "amount": [None, -1.0, None],
            }
        ),
        path,
    )
    message = str(pytest.raises(EventFileError, load_events, path).value)
    assert "rows counting from 0" in message
    assert "row 1: negative amount (got '-1.0')" in message
    assert "row 2: missing user_id" in message


# ----------------------------------------------------------------------------- quarantine


def test_quarantine_writes_exactly_the_bad_rows(tmp_path):
    quarantine = tmp_path / "bad.csv"
    log = load_events(MESSY, on_error="quarantine", quarantine_path=quarantine)
    bad = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert bad["line"].astype(int).tolist() == sorted(BAD_LINES)
    for line, reason in BAD_LINES.items():
        assert reason in bad.loc[bad["line"] == str(line), "reason"].item()
    # the raw values are kept for fixing and re-importing
    row = bad.loc[bad["line"] == "9"].iloc[0]
    assert (row["user_id"], row["timestamp"], row["event"]) == ("u3", "2024-13-03", "active")
    assert log.rows_read == len(GOOD_LINES) + len(BAD_LINES)
    assert log.rows_read == len(log.events) + log.rows_quarantined + log.merged_purchases
    assert log.rows_quarantined == len(BAD_LINES)
    assert sorted(log.events["user_id"].unique()) == ["u1", "u2", "u4", "u5"]


def test_quarantine_needs_a_path_and_on_error_is_checked():
    with pytest.raises(ValueError, match="quarantine_path"):
        load_events(MESSY, on_error="quarantine")
    with pytest.raises(ValueError, match="on_error"):
        load_events(MESSY, on_error="skip")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(
        st.sampled_from(["good", "good_buy", "bad_time", "bad_amount", "blank"]), max_size=40
    )
)
def test_nothing_is_silently_dropped(tmp_path, kinds):
    rows = {
        "good": "u{i},2024-02-{d:02d},open,",
        "good_buy": "u{i},2024-02-{d:02d} 10:00,purchase,{i}.5",
        "bad_time": "u{i},2024-02-30,open,",
        "bad_amount": "u{i},2024-02-{d:02d},purchase,-{i}.5",
        "blank": "",
    }
    body = "".join(rows[k].format(i=i % 3, d=1 + i % 28) + "\n" for i, k in enumerate(kinds))
    path = _csv(tmp_path, body)
    quarantine = tmp_path / "q.csv"
    log = load_events(
        path, on_error="quarantine", quarantine_path=quarantine, merge_same_day_purchases=True
    )
    n_bad = sum(k.startswith("bad") for k in kinds)
    n_rows = sum(k != "blank" for k in kinds)
    assert log.rows_read == n_rows
    assert log.rows_quarantined == n_bad
    assert log.rows_read == len(log.events) + log.rows_quarantined + log.merged_purchases
    expected_lines = [2 + j for j, k in enumerate(kinds) if k.startswith("bad")]
    assert pd.read_csv(quarantine)["line"].tolist() == expected_lines
    total_bought = sum(i % 3 + 0.5 for i, k in enumerate(kinds) if k == "good_buy")
    assert log.events["amount"].sum() == pytest.approx(total_bought)


# ----------------------------------------------------------------------------- merging


def test_merge_sums_same_day_purchases_per_user(tmp_path):
    path = _csv(
        tmp_path,
        "a,2024-01-01 09:00,purchase,10\n"
        "a,2024-01-01 12:00,open,\n"
        "a,2024-01-01 18:00,purchase,5.5\n"
        "a,2024-01-02 08:00,purchase,1\n"
        "b,2024-01-01 10:00,purchase,100\n",
    )
    plain = load_events(path)
    merged = load_events(path, merge_same_day_purchases=True)
    assert plain.merged_purchases == 0 and len(plain.events) == 5
    assert merged.merged_purchases == 1 and len(merged.events) == 4
    buys = merged.events[merged.events["event"] == "purchase"]
    assert buys["amount"].tolist() == [15.5, 1.0, 100.0]
    assert buys["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 09:00")  # the first is kept
    assert merged.events["amount"].sum() == plain.events["amount"].sum()
    assert (merged.events["event"] == "open").sum() == 1


def test_merge_uses_the_utc_date(tmp_path):
    quarantine = tmp_path / "q.csv"
    log = load_events(
        MESSY, on_error="quarantine", quarantine_path=quarantine, merge_same_day_purchases=True
    )
    u1 = log.events[(log.events["user_id"] == "u1") & (log.events["event"] == "purchase")]
    assert u1["amount"].tolist() == [pytest.approx(208.9)]  # 9.9 + 199, same day
    assert log.merged_purchases == 1


# ----------------------------------------------------------------------------- file problems


def test_missing_and_mapped_columns_list_the_file_columns(tmp_path):
    path = _csv(tmp_path, "u,2024-01-01,open,\n", header="customer,timestamp,event,amount\n")
    with pytest.raises(EventFileError) as info:
        load_events(path)
    assert "column 'user_id' not found" in str(info.value)
    assert "the file's columns are: customer, timestamp, event, amount" in str(info.value)
    with pytest.raises(
        EventFileError, match=r"column 'client' \(mapped from 'user_id'\) not found"
    ):
        load_events(path, columns={"user_id": "client"})
    with pytest.raises(EventFileError, match=r"column 'paid' \(mapped from 'amount'\) not found"):
        load_events(path, columns={"user_id": "customer", "amount": "paid"})
    with pytest.raises(EventFileError, match="unknown key 'userid'"):
        load_events(path, columns={"userid": "customer"})
    upper = _csv(tmp_path, "u,2024-01-01,open,\n", "upper.csv", "User_ID,timestamp,event,amount\n")
    with pytest.raises(EventFileError, match="did you mean 'User_ID'"):
        load_events(upper)


def test_timestamp_column_of_the_wrong_type(tmp_path):
    path = tmp_path / "epoch.parquet"
    pq.write_table(pa.table({"user_id": ["a"], "timestamp": [1709251200], "event": ["open"]}), path)
    with pytest.raises(EventFileError, match="epoch.parquet: timestamp column has type int64"):
        load_events(path)


def test_unusable_files(tmp_path):
    with pytest.raises(EventFileError, match="unsupported file type.*'.xlsx'"):
        load_events(tmp_path / "events.xlsx")
    with pytest.raises(EventFileError, match="file not found"):
        load_events(tmp_path / "missing.csv")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(EventFileError, match="folder.csv"):
        load_events(folder)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not parquet")
    with pytest.raises(EventFileError, match="cannot read as parquet"):
        load_events(broken)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EventFileError, match="empty.csv: cannot read"):
        load_events(empty)


# ----------------------------------------------------------------------------- users table


def test_users_table(tmp_path):
    path = _csv(tmp_path, "u2,31,Beijing\n\n u1 ,25,\n", "users.csv", "uid,age,city\n")
    users = load_users(path, id_column="uid")
    assert list(users.columns) == ["user_id", "age", "city"]
    assert users["user_id"].dtype == "string"
    assert users["user_id"].tolist() == ["u2", "u1"]
    assert users["age"].tolist() == [31, 25]


def test_users_table_problems_have_lines(tmp_path):
    path = _csv(tmp_path, "a,1\nb,2\n,3\n\na,4\nc,5,6\n", "users.csv", "user_id,x\n")
    message = str(pytest.raises(EventFileError, load_users, path).value)
    problems = _problem_lines(message)
    assert problems[4] == "missing user_id"
    assert problems[6] == "duplicate user_id (first on line 2) (got 'a')"
    assert problems[7].startswith("expected 2 fields, got 3")
    with pytest.raises(EventFileError, match="no id column 'customer'"):
        load_users(path, id_column="customer")
    with pytest.raises(EventFileError, match="unsupported file type"):
        load_users(tmp_path / "users.json")
