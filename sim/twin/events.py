"""Importing a real user base: the event log and the optional users table.

The event log is a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``) file with one row per
event and the columns ``user_id, timestamp, event, amount`` (names can be mapped); the schema,
the accepted timestamp formats and the error handling are documented in ``docs/DATA.md``.
:func:`load_events` reads it with pyarrow, validates every row vectorised, and returns an
:class:`EventLog`: a tidy, sorted :class:`pandas.DataFrame` plus the counts that prove nothing
was dropped silently (``rows_read == len(events) + rows_quarantined + merged_purchases``).

Malformed rows either stop the import with an :class:`EventFileError` that lists them as
``line N: reason (got 'value')`` (CSV lines count the header as line 1; Parquet rows count from
0), or, with ``on_error="quarantine"``, are written to a CSV file with their line and reason
while the import goes on. :func:`load_users` reads the optional users table (``user_id`` plus any
attributes).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sim.errors import EventFileError
from sim.io.atomic import replace_file
from sim.twin.dates import ISO_HINT, has_offset, parse_iso_timestamps

EVENT_TYPES = ("purchase", "active", "open", "message", "join", "leave")
EVENT_COLUMNS = ("user_id", "timestamp", "event", "amount")
REQUIRED_COLUMNS = ("user_id", "timestamp", "event")
SUFFIXES = (".csv", ".csv.gz", ".parquet")
ON_ERROR = ("stop", "quarantine")

_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_TIMESTAMP_HINT = ISO_HINT


@dataclass
class EventLog:
    """A validated event log.

    Attributes
    ----------
    events : pandas.DataFrame
        Columns ``user_id`` (``string``), ``timestamp`` (naive ``datetime64[ns]``; tz-aware input
        converted to UTC), ``date`` (the timestamp at midnight), ``event`` (Categorical with
        categories :data:`EVENT_TYPES`), ``amount`` (float64, NaN except for purchases); sorted by
        user, timestamp and original row, with a fresh 0..n-1 index.
    source : str
        The file read.
    rows_read : int
        Data rows in the file (blank CSV lines are not rows).
    rows_quarantined : int
        Malformed rows written to the quarantine file instead (0 with ``on_error="stop"``).
    merged_purchases : int
        Purchase rows folded into an earlier same-day purchase of the same user.
    """

    events: pd.DataFrame
    source: str
    rows_read: int
    rows_quarantined: int
    merged_purchases: int


@dataclass
class _Raw:
    """The columns as read, before validation, with where each row came from."""

    columns: dict[str, pa.ChunkedArray | None]
    where: np.ndarray  # CSV line number (header = 1) or Parquet row number (from 0)
    word: str  # "line" or "row"
    rows_read: int
    structural: list[tuple[int, str, str]]  # (line, reason, raw text) of rows not parsed


@dataclass
class _Problems:
    """Malformed rows: their position in the raw table (or -1 if not parsed) and reasons."""

    where: np.ndarray
    reasons: np.ndarray
    index: np.ndarray
    total: int


# ----------------------------------------------------------------------------- public API


def load_events(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    merge_same_day_purchases: bool = False,
    on_error: str = "stop",
    quarantine_path: str | Path | None = None,
    max_errors_shown: int = 20,
    encoding: str = "utf-8",
) -> EventLog:
    """Read and validate an event log.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file with columns ``user_id, timestamp, event``
        and (needed if there are purchases) ``amount``; other columns are ignored.
    columns
        Our column names mapped to the file's, e.g. ``{"user_id": "customer"}``.
    merge_same_day_purchases
        Fold several purchases of one user on one date into one (amounts summed, the earliest
        timestamp kept); the number folded away is ``merged_purchases``.
    on_error
        ``"stop"`` raises :class:`EventFileError` listing the malformed rows; ``"quarantine"``
        writes them to ``quarantine_path`` (CSV: line or row, reason, the raw values) and goes on.
    quarantine_path
        Where quarantined rows go; required with ``on_error="quarantine"``.
    max_errors_shown
        How many problems the error message lists (the total is always given).
    encoding
        Text encoding of a CSV file (e.g. ``"gbk"`` for some Excel exports).

    Returns
    -------
    EventLog

    Raises
    ------
    EventFileError
        Unreadable file, wrong extension, missing column, or (with ``on_error="stop"``)
        malformed rows.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}; got {on_error!r}")
    if on_error == "quarantine" and quarantine_path is None:
        raise ValueError('on_error="quarantine" needs a quarantine_path for the malformed rows')
    path = Path(path)
    mapping = _column_mapping(columns)
    raw = _read_event_columns(path, mapping, encoding)
    try:
        values, problems = _validate(raw, max(max_errors_shown, 1) if on_error == "stop" else None)
    except EventFileError as exc:  # a column-level problem: name the file
        raise EventFileError(f"{path}: {exc}") from None
    if problems.total and on_error == "stop":
        raise EventFileError(_problem_message(path, raw.word, problems, max_errors_shown))
    if on_error == "quarantine":
        _write_quarantine(Path(quarantine_path), raw, problems)
    keep = np.ones(len(raw.where), dtype=bool)
    keep[problems.index[problems.index >= 0]] = False
    events = _tidy_frame(values, keep)
    merged = 0
    if merge_same_day_purchases:
        events, merged = _merge_same_day(events)
    return EventLog(
        events=events,
        source=str(path),
        rows_read=raw.rows_read,
        rows_quarantined=problems.total,
        merged_purchases=merged,
    )


def load_users(
    path: str | Path, *, id_column: str = "user_id", encoding: str = "utf-8"
) -> pd.DataFrame:
    """Read the optional users table: one row per user, ``user_id`` plus any attributes.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    id_column
        The file's name for the user id column; it is renamed ``user_id`` (pandas ``string``,
        surrounding whitespace removed) and put first. Other columns keep their inferred types.
    encoding
        Text encoding of a CSV file.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    EventFileError
        Unreadable file, missing id column, malformed CSV rows, missing or duplicate ids (each
        with its line, or row for Parquet).
    """
    path = Path(path)
    kind = _file_kind(path)
    names = _file_columns(path, kind, encoding)
    if id_column not in names:
        raise EventFileError(
            f"{path}: no id column {id_column!r}{_close_match(id_column, names)}; "
            f"the file's columns are: {', '.join(names)}"
        )
    if id_column != "user_id" and "user_id" in names:
        raise EventFileError(
            f"{path}: has a 'user_id' column besides the id column {id_column!r}; rename one"
        )
    if kind == "parquet":
        table = _read_parquet(path, names)
        where, word, structural = np.arange(table.num_rows), "row", []
    else:
        table, where, structural = _read_csv(path, None, {id_column: pa.string()}, encoding, names)
        word = "line"
    ids = _user_ids(table.column(id_column))
    missing = _blank(ids)
    problems = [(int(line), reason, text) for line, reason, text in structural]
    problems += [(int(where[i]), f"missing {id_column}", "") for i in np.flatnonzero(missing)]
    problems += _duplicate_problems(ids, missing, where, word)
    if problems:
        problems.sort()
        raise EventFileError(
            _format_problems(path, word, [_line(word, *p) for p in problems], len(problems), 20)
        )
    frame = table.drop_columns([id_column]).to_pandas()
    frame.insert(0, "user_id", pd.arrays.ArrowStringArray(pc.utf8_trim_whitespace(ids)))
    return frame


# ----------------------------------------------------------------------------- reading


def _file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    raise EventFileError(
        f"{path}: unsupported file type; expected one of {', '.join(SUFFIXES)} (got "
        f"{''.join(path.suffixes) or 'no extension'!r})"
    )


def _column_mapping(columns: dict[str, str] | None) -> dict[str, str]:
    """Our column name -> the file's, checking the keys."""
    mapping = {name: name for name in EVENT_COLUMNS}
    for ours, theirs in (columns or {}).items():
        if ours not in EVENT_COLUMNS:
            raise EventFileError(
                f"columns: unknown key {ours!r}; expected some of {', '.join(EVENT_COLUMNS)}"
            )
        if not isinstance(theirs, str) or not theirs:
            raise EventFileError(f"columns: {ours!r} must map to a column name, got {theirs!r}")
        mapping[ours] = theirs
    return mapping


def _unreadable(path: Path, kind: str, exc: Exception) -> EventFileError:
    if isinstance(exc, FileNotFoundError):
        return EventFileError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return EventFileError(f"{path}: is a directory, expected a {kind} file")
    if isinstance(exc, PermissionError):
        return EventFileError(f"{path}: permission denied")
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc) or "utf-8" in str(exc).lower():
        return EventFileError(f"{path}: {_not_utf8(path)}")
    return EventFileError(f"{path}: cannot read as {kind}: {exc}")


def _not_utf8(path: Path) -> str:
    """What to say about a file that is not UTF-8 text, naming UTF-16 when it looks like it."""
    try:
        with open(path, "rb") as f:
            start = f.read(2)
    except OSError:
        start = b""
    seen = " (it looks like UTF-16: it starts with a UTF-16 byte-order mark)" if start in (
        b"\xff\xfe", b"\xfe\xff") else ""  # fmt: skip
    return (
        f"expected UTF-8 text{seen}; save the file as UTF-8 (CSV UTF-8 in Excel), or pass its "
        "encoding to load_events(..., encoding='gbk')"
    )


def _file_columns(path: Path, kind: str, encoding: str) -> list[str]:
    """The column names in the file's header (CSV) or schema (Parquet)."""
    try:
        if kind == "parquet":
            return list(pq.read_schema(path).names)
        _check_encoding(path, encoding)
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(encoding=encoding, block_size=1 << 20),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        )
        return list(reader.schema.names)
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise _unreadable(path, kind, exc) from exc


def _check_encoding(path: Path, encoding: str, sample: int = 1 << 16) -> None:
    """EventFileError if the start of a CSV file is not text in ``encoding`` (a UTF-16 or
    Latin-1 export), before the CSV reader meets it row by row."""
    with pa.input_stream(str(path)) as stream:  # decompresses .csv.gz
        head = stream.read(sample)
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < sample)
    except UnicodeDecodeError:
        if encoding.replace("-", "").lower() == "utf8":
            raise EventFileError(f"{path}: {_not_utf8(path)}") from None
        raise EventFileError(f"{path}: not {encoding} text") from None


def _check_columns(path: Path, mapping: dict[str, str], names: list[str], needed) -> list[str]:
    for ours in needed:
        theirs = mapping[ours]
        if theirs not in names:
            mapped = f" (mapped from {ours!r})" if theirs != ours else ""
            raise EventFileError(
                f"{path}: column {theirs!r}{mapped} not found{_close_match(theirs, names)}; "
                f"the file's columns are: {', '.join(names) or '(none)'}"
            )
    return [mapping[c] for c in EVENT_COLUMNS if mapping[c] in names]


def _close_match(name: str, names: list[str]) -> str:
    same = [n for n in names if n.strip().lower() == name.strip().lower()]
    return f" (did you mean {same[0]!r}? names are case- and space-sensitive)" if same else ""


def _read_event_columns(path: Path, mapping: dict[str, str], encoding: str) -> _Raw:
    kind = _file_kind(path)
    names = _file_columns(path, kind, encoding)
    amount_asked = ("amount",) if mapping["amount"] != "amount" else ()  # mapped: must exist
    wanted = _check_columns(path, mapping, names, REQUIRED_COLUMNS + amount_asked)
    if kind == "parquet":
        table = _read_parquet(path, wanted)
        where, structural = np.arange(table.num_rows, dtype=np.int64), []
    else:
        types = {theirs: pa.string() for theirs in wanted}
        table, where, structural = _read_csv(path, wanted, types, encoding, names)
    present = {ours: mapping[ours] in names for ours in EVENT_COLUMNS}
    cols = {ours: table.column(mapping[ours]) if present[ours] else None for ours in EVENT_COLUMNS}
    return _Raw(
        columns=cols,
        where=where,
        word="row" if kind == "parquet" else "line",
        rows_read=table.num_rows + len(structural),
        structural=structural,
    )


def _read_parquet(path: Path, names: list[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=names)
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise _unreadable(path, "parquet", exc) from exc


def _read_csv(
    path: Path,
    include: list[str] | None,
    types: dict[str, pa.DataType],
    encoding: str,
    names: list[str],
) -> tuple[pa.Table, np.ndarray, list[tuple[int, str, str]]]:
    """Read a CSV; returns the table, each row's line number and the rows that did not parse.

    Blank lines are read as empty rows (so line numbers stay right) and removed here; a row is
    blank only if every field of the file, read or not, is empty. Rows with the wrong number of
    fields are skipped by pyarrow and returned as (line, reason, text); their line numbers need
    a single-threaded read, done only when such rows exist.
    """
    table, bad = _read_csv_once(path, include, types, encoding, threads=True)
    if bad:
        table, bad = _read_csv_once(path, include, types, encoding, threads=False)
    where = np.arange(2, table.num_rows + len(bad) + 2, dtype=np.int64)
    if bad:
        parsed = np.ones(len(where), dtype=bool)
        parsed[np.array([line for line, _, _ in bad], dtype=np.int64) - 2] = False
        where = where[parsed]
    blank = _blank_rows(table)
    others = [name for name in names if include is not None and name not in include]
    if blank.any() and others:  # rare: check the columns not read on a second pass
        rest, _ = _read_csv_once(
            path, others, dict.fromkeys(others, pa.string()), encoding, threads=not bad
        )
        blank &= _blank_rows(rest)
    if blank.any():
        table = table.filter(pa.array(~blank))
        where = where[~blank]
    return table, where, bad


def _read_csv_once(path, include, types, encoding, *, threads: bool):
    bad: list[tuple[int, str, str]] = []

    def wrong_field_count(row) -> str:
        reason = f"expected {row.expected_columns} fields, got {row.actual_columns}"
        bad.append((row.number if row.number is not None else -1, reason, row.text))
        return "skip"

    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=threads, encoding=encoding),
            parse_options=pa_csv.ParseOptions(
                ignore_empty_lines=False, invalid_row_handler=wrong_field_count
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=include,
                column_types=types,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise _unreadable(path, "CSV", exc) from exc
    return table, bad


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Rows that come from blank lines: every field null or empty."""
    blank = np.ones(table.num_rows, dtype=bool)
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            blank &= _blank(col)
        else:
            blank &= col.is_null().to_numpy(zero_copy_only=False)
        if not blank.any():
            break
    return blank


# ----------------------------------------------------------------------------- validation


def _blank(arr: pa.ChunkedArray) -> np.ndarray:
    """Null or empty/whitespace-only strings."""
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0)
    return pc.fill_null(empty, True).to_numpy(zero_copy_only=False)


def _as_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any column as ``string`` (dictionary-encoded and numeric columns included)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    return arr.cast(pa.string())


def _user_ids(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """User ids as text; integer-valued float ids (``123.0``) become ``123``."""
    if pa.types.is_floating(arr.type):
        values = arr.to_numpy(zero_copy_only=False)
        finite = values[np.isfinite(values)]
        if np.array_equal(finite, np.round(finite)):
            ints = pa.array(values, mask=~np.isfinite(values), from_pandas=True)
            return pa.chunked_array([pc.cast(ints, pa.int64(), safe=False)]).cast(pa.string())
    return _as_text(arr)


def _parse_timestamps(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Naive UTC ``datetime64[ns]`` values, a 'missing' mask and a 'has a time-zone offset'
    mask; unparseable values are NaT (ISO 8601 only, :mod:`sim.twin.dates`)."""
    no_offset = np.zeros(len(arr), dtype=bool)
    if pa.types.is_timestamp(arr.type):
        ints = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
        missing = arr.is_null().to_numpy(zero_copy_only=False)
        ns = np.where(missing, 0, ints) * _NS_PER_UNIT[arr.type.unit]
        values = ns.astype("datetime64[ns]")
        values[missing] = np.datetime64("NaT")
        return values, missing, no_offset
    if pa.types.is_date(arr.type):
        missing = arr.is_null().to_numpy(zero_copy_only=False)
        return arr.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), missing, no_offset
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise EventFileError(
            f"timestamp column has type {arr.type}; {_TIMESTAMP_HINT} (text or a Parquet "
            "timestamp/date column)"
        )
    text = pc.utf8_trim_whitespace(arr)
    missing = _blank(text)
    nulled = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    try:
        parsed = pc.cast(nulled, pa.timestamp("ns"))
        return parsed.to_numpy(zero_copy_only=False), missing, no_offset
    except pa.ArrowException:
        pass  # offsets, non-padded or slashed dates, or bad values: the ISO 8601 parser
    objects = nulled.to_numpy(zero_copy_only=False)
    offset = has_offset(pd.Series(objects, dtype=object))
    return parse_iso_timestamps(objects), missing, offset


def _check_one_time_zone_convention(offset: np.ndarray, usable: np.ndarray, raw: _Raw) -> None:
    """EventFileError if some timestamps carry a time-zone offset and others do not: a naive
    time cannot be placed against an aware one (one of them would move to another day)."""
    aware, naive = np.flatnonzero(offset & usable), np.flatnonzero(~offset & usable)
    if len(aware) and len(naive):
        raise EventFileError(
            f"{raw.word} {raw.where[aware[0]]} has a time-zone offset but {raw.word} "
            f"{raw.where[naive[0]]} has none ({len(aware):,} with, {len(naive):,} without); "
            "write every timestamp with an offset (2024-03-05T14:30:00+08:00) or none"
        )


def _parse_amounts(arr: pa.ChunkedArray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Float amounts (NaN where empty or not a number) and an 'empty' mask."""
    if arr is None:
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    kind = arr.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return values, arr.is_null().to_numpy(zero_copy_only=False)
    text = pc.utf8_trim_whitespace(_as_text(arr))
    empty = _blank(text)
    nulled = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), text)
    try:
        values = pc.cast(nulled, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        objects = nulled.to_numpy(zero_copy_only=False)
        values = pd.to_numeric(pd.Series(objects, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return np.asarray(values, dtype=np.float64), empty


def _event_codes(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Codes into :data:`EVENT_TYPES` (-1 unknown) and a 'missing' mask; case-insensitive."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(arr)))
    missing = _blank(text)
    encoded = text.combine_chunks().dictionary_encode()
    labels = encoded.dictionary.to_pylist()
    lookup = np.array([EVENT_TYPES.index(v) if v in EVENT_TYPES else -1 for v in labels] + [-1])
    indices = encoded.indices.fill_null(len(labels)).to_numpy(zero_copy_only=False)
    return lookup[indices].astype(np.int8), missing


def _validate(raw: _Raw, limit: int | None) -> tuple[dict[str, object], _Problems]:
    """Parse every column and collect the malformed rows' reasons (the first ``limit``)."""
    n = len(raw.where)
    cols = raw.columns
    user = _user_ids(cols["user_id"])
    user_missing = _blank(user)
    stamps, stamp_missing, stamp_offset = _parse_timestamps(cols["timestamp"])
    stamp_bad = ~stamp_missing & np.isnat(stamps)
    _check_one_time_zone_convention(stamp_offset, ~stamp_missing & ~stamp_bad, raw)
    codes, event_missing = _event_codes(cols["event"])
    event_unknown = ~event_missing & (codes < 0)
    amounts, amount_empty = _parse_amounts(cols["amount"], n)
    purchase = codes == EVENT_TYPES.index("purchase")
    not_number = ~amount_empty & np.isnan(amounts)
    checks = [
        (user_missing, "missing user_id", None),
        (stamp_missing, "missing timestamp", None),
        (stamp_bad, f"unparseable timestamp, {_TIMESTAMP_HINT}", "timestamp"),
        (event_missing, "missing event", None),
        (event_unknown, f"unknown event, expected one of {', '.join(EVENT_TYPES)}", "event"),
        (purchase & amount_empty, "purchase without an amount", None),
        (purchase & not_number, "amount is not a number", "amount"),
        (purchase & np.isinf(amounts), "amount is not finite", "amount"),
        (purchase & (amounts < 0), "negative amount", "amount"),
        (
            ~purchase & (codes >= 0) & ~amount_empty & ~(amounts == 0),
            "amount on a non-purchase event; only purchases carry one, leave it empty or 0",
            "amount",
        ),
    ]
    if cols["amount"] is None and purchase.any():
        raise EventFileError(
            f"no amount column but {int(purchase.sum())} purchase rows; map the file's amount "
            "column with columns={'amount': ...}"
        )
    values = {"user": user, "stamps": stamps, "codes": codes, "amounts": amounts}
    return values, _collect_problems(raw, checks, limit)


def _collect_problems(raw: _Raw, checks, limit: int | None) -> _Problems:
    """Every malformed row (or, with ``limit``, the first ``limit`` of them) with its reasons."""
    bad = np.zeros(len(raw.where), dtype=bool)
    for mask, _, _ in checks:
        bad |= mask
    index = np.flatnonzero(bad)
    total = len(index) + len(raw.structural)
    if limit is not None:
        index = index[:limit]  # rows are in file order, so these are the first parsed ones
    reasons = np.full(len(index), "", dtype=object)
    for mask, reason, column in checks:
        hit = np.flatnonzero(mask[index])
        shown = _got(raw.columns[column], index[hit]) if column else [""] * len(hit)
        for k, got in zip(hit, shown, strict=True):
            text = f"{reason} (got {got!r})" if column else reason
            reasons[k] = f"{reasons[k]}; {text}" if reasons[k] else text
    where = raw.where[index]
    if raw.structural:
        extra_where = np.array([line for line, _, _ in raw.structural], dtype=np.int64)
        extra = np.array([f"{r} (got {t!r})" for _, r, t in raw.structural], dtype=object)
        where = np.concatenate([where, extra_where])
        reasons = np.concatenate([reasons, extra])
        index = np.concatenate([index, np.full(len(extra), -1, dtype=np.int64)])
    order = np.argsort(where, kind="stable")[:limit]
    return _Problems(where=where[order], reasons=reasons[order], index=index[order], total=total)


def _got(arr: pa.ChunkedArray, rows: np.ndarray) -> list[str]:
    """The raw values of some rows, as text for a message."""
    if arr is None or not len(rows):
        return [""] * len(rows)
    values = arr.take(pa.array(rows)).to_pylist()
    return ["" if v is None else str(v) for v in values]


def _duplicate_problems(ids, missing, where, word) -> list[tuple[int, str, str]]:
    text = pd.Series(
        pc.utf8_trim_whitespace(ids).to_numpy(zero_copy_only=False), dtype=object
    ).where(~missing)
    dup = text.duplicated(keep="first").to_numpy() & ~missing
    if not dup.any():
        return []
    first = pd.Series(where[~missing], index=text[~missing]).groupby(level=0).min()
    return [
        (int(where[i]), f"duplicate user_id (first on {word} {int(first[text[i]])})", text[i])
        for i in np.flatnonzero(dup)
    ]


# ----------------------------------------------------------------------------- reporting


def _line(word: str, where: int, reason: str, got: str = "") -> str:
    shown = f" (got {got!r})" if got else ""
    return f"{word} {where}: {reason}{shown}"


def _format_problems(path: Path, word: str, lines: list[str], total: int, limit: int) -> str:
    counting = "counting the header as line 1" if word == "line" else "counting from 0"
    head = (
        f"{path}: {total} malformed row{'s' if total != 1 else ''} ({word}s {counting}); "
        "fix them, or load with on_error='quarantine' to set them aside:"
    )
    body = [f"  {text}" for text in lines[:limit]]
    if total > limit:
        body.append(f"  ... and {total - limit} more")
    return "\n".join([head, *body])


def _problem_message(path: Path, word: str, problems: _Problems, limit: int) -> str:
    shown = [
        f"{word} {int(w)}: {r}"
        for w, r in zip(problems.where[:limit], problems.reasons[:limit], strict=True)
    ]
    return _format_problems(path, word, shown, problems.total, limit)


def _write_quarantine(path: Path, raw: _Raw, problems: _Problems) -> None:
    """The malformed rows as CSV: line (or row), reason, then the raw values of our columns."""
    frame = pd.DataFrame({raw.word: problems.where, "reason": problems.reasons})
    parsed = problems.index >= 0
    for name in EVENT_COLUMNS:
        column = np.full(len(frame), "", dtype=object)
        arr = raw.columns[name]
        if arr is not None and parsed.any():
            column[parsed] = _got(arr, problems.index[parsed])
        frame[name] = column
    replace_file(path, lambda tmp: frame.to_csv(tmp, index=False))


# ----------------------------------------------------------------------------- the frame


def _tidy_frame(values: dict[str, object], keep: np.ndarray) -> pd.DataFrame:
    """The kept rows, typed and sorted by (user, timestamp, original row)."""
    rows = np.flatnonzero(keep)
    user = pc.utf8_trim_whitespace(values["user"]).take(pa.array(rows)).combine_chunks()
    stamps = values["stamps"][rows]
    encoded = user.dictionary_encode()
    rank = np.empty(len(encoded.dictionary), dtype=np.int64)
    rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(encoded.dictionary))
    user_rank = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    by_time = np.argsort(stamps.view(np.int64), kind="stable")
    order = by_time[np.argsort(user_rank[by_time], kind="stable")]
    stamps = stamps[order]
    codes = values["codes"][rows][order]
    amounts = values["amounts"][rows][order]
    amounts = np.where(codes == EVENT_TYPES.index("purchase"), amounts, np.nan)
    return pd.DataFrame(
        {
            "user_id": pd.arrays.ArrowStringArray(user.take(pa.array(order))),
            "timestamp": stamps,
            "date": stamps.astype("datetime64[D]").astype("datetime64[ns]"),
            "event": pd.Categorical.from_codes(codes, categories=list(EVENT_TYPES)),
            "amount": amounts.astype(np.float64),
        }
    )


def _merge_same_day(events: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Fold each user's same-date purchases into the first one, amounts summed."""
    purchase_rows = np.flatnonzero((events["event"] == "purchase").to_numpy())
    if len(purchase_rows) < 2:
        return events, 0
    users = events["user_id"].to_numpy()[purchase_rows]
    dates = events["date"].to_numpy()[purchase_rows]
    starts = np.r_[True, (users[1:] != users[:-1]) | (dates[1:] != dates[:-1])]
    first = np.flatnonzero(starts)
    sums = np.add.reduceat(events["amount"].to_numpy()[purchase_rows], first)
    merged = len(purchase_rows) - len(first)
    if not merged:
        return events, 0
    amount = events["amount"].to_numpy().copy()
    amount[purchase_rows[first]] = sums
    keep = np.ones(len(events), dtype=bool)
    keep[purchase_rows[~starts]] = False
    out = events.assign(amount=amount)[keep].reset_index(drop=True)
    return out, merged
