"""Fuzzing event logs (hypothesis): CSV files with good and broken rows — odd timestamps
(slashed, impossible, with and without offsets), unknown events, bad amounts, ragged rows — in
UTF-8, UTF-16 or Latin-1. Each is either refused with an :class:`EventFileError` naming the file,
or read with every row accounted for; never another exception, a hang or a changed input file.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.twin.events import EventFileError, load_events
from tests.io.fuzz import no_hang

TIMESTAMPS = st.sampled_from(
    ["2024-02-03", "2024-02-03 10:00", "2024-02-03T10:00:00+08:00", "2024-02-03T01:00:00Z",
     "03/02/2024", "2024-02-30", "", "yesterday", "2024-2-3", "1e9", "2024-02-03 25:00"]
)  # fmt: skip
EVENTS = st.sampled_from(
    ["purchase", "open", "active", "join", "leave", "message", "buy", "", "Open"]
)
AMOUNTS = st.sampled_from(["", "0", "9.9", "-5", "abc", "inf", "nan", "1e400", "12,5"])
USERS = st.sampled_from(["u1", "u2", " u3 ", "", "用户4", "é5"])
ROW = st.tuples(USERS, TIMESTAMPS, EVENTS, AMOUNTS).map(",".join)
RAGGED = st.sampled_from(["u1,2024-02-03,open,,extra", "u1", ""])


@st.composite
def event_logs(draw) -> tuple[bytes, str]:
    rows = draw(st.lists(ROW | RAGGED, min_size=0, max_size=30))
    text = "user_id,timestamp,event,amount\n" + "\n".join(rows) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace"), encoding


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(log=event_logs(), quarantine=st.booleans())
def test_an_event_log_is_read_or_refused_cleanly(tmp_path, log, quarantine):
    data, _ = log
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    options = (
        {"on_error": "quarantine", "quarantine_path": tmp_path / "q.csv"} if quarantine else {}
    )
    try:
        with no_hang():
            result = load_events(path, **options)
    except EventFileError as err:
        assert str(err).startswith(str(path)), str(err)[:200]
        event("refused")
    else:
        event("read")
        assert result.rows_read == len(result.events) + result.rows_quarantined
    assert path.read_bytes() == data
