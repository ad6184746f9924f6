"""Argument types shared by the command line: counts that must be positive, refused by argparse
with the flag's name (``--repetitions 0``, ``--workers -1``) before anything runs."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An ``int`` >= 1 (argparse ``type=``)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An ``int`` >= 0 (argparse ``type=``)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
    return value
