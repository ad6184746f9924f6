"""The one date parser of the twin: ISO 8601 only, for command-line flags and event-log files.

``03/04/2024`` is the 3rd of April in some countries and the 4th of March in others, so a date
must be written ``2024-04-03`` (optionally with a time, ``2024-04-03 14:30`` or
``2024-04-03T14:30:00+08:00``). Flags (``--calibration-end``, ``--until``) and the files' timestamp
column (:mod:`sim.twin.events`) are read by the same function.

:func:`check_window` checks a calibration or holdout window against the span of the data, so a
fit or backtest never runs on a window the data does not cover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ISO_HINT = "expected an ISO 8601 date such as 2024-06-30 (or 2024-06-30 14:30:00)"
# an offset after a time of day (a bare date's "-03" is its day, not an offset)
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"


class DateError(ValueError):
    """A date that is not ISO 8601, or a window the data does not cover."""


def parse_iso_timestamps(texts: np.ndarray) -> np.ndarray:
    """ISO 8601 texts → naive UTC ``datetime64[ns]`` (offsets converted to UTC); anything else,
    including ``03/04/2024`` and blanks, is NaT."""
    parsed = pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=True)
    return parsed.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def has_offset(texts: pd.Series) -> np.ndarray:
    """Whether each text timestamp carries a time-zone offset (``Z``, ``+08:00``, ``-0500``)."""
    return texts.str.contains(_OFFSET, regex=True, na=False).to_numpy(dtype=bool)


def parse_day(text: str, flag: str) -> pd.Timestamp:
    """A calendar day from a flag value (ISO 8601, with :func:`parse_iso_timestamps`);
    :class:`DateError` naming the flag and the expected format otherwise."""
    value = parse_iso_timestamps(np.array([str(text).strip()], dtype=object))[0]
    if np.isnat(value):
        raise DateError(f"{flag}: {ISO_HINT}, got {str(text)[:40]!r}")
    return pd.Timestamp(value).normalize()


def check_window(
    first: pd.Timestamp, last: pd.Timestamp, calibration_end: pd.Timestamp,
    until: pd.Timestamp | None = None, source: str = "the event log",
) -> None:  # fmt: skip
    """:class:`DateError` unless ``calibration_end`` falls inside the data's span
    ``[first, last)`` (something to fit, something after it is not needed) and, for a backtest,
    ``until`` is no later than the data's last day (a holdout the data covers)."""
    span = f"{source} covers {first.date()} to {last.date()}"
    if calibration_end < first:
        raise DateError(f"--calibration-end {calibration_end.date()} is before the data: {span}")
    if calibration_end > last:
        raise DateError(
            f"--calibration-end {calibration_end.date()} is after the data: {span}; choose a "
            "day inside it (the twin is fitted on the events up to that day)"
        )
    if until is not None and until > last:
        raise DateError(
            f"--until {until.date()} is after the data: {span}; a holdout past "
            f"{last.date()} has no events to compare with (use --until {last.date()} or earlier)"
        )
