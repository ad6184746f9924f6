"""Shared pieces of the input fuzz tests: a hang guard and the 'clean refusal' check."""

from __future__ import annotations

import signal
from contextlib import contextmanager

HANG_SECONDS = 30  # far above any legitimate case here; only a hang reaches it


class Hang(AssertionError):
    """An input took longer than HANG_SECONDS to be read or refused."""


@contextmanager
def no_hang(seconds: int = HANG_SECONDS):
    """Fail (instead of waiting forever) if the block runs for more than ``seconds``."""

    def alarm(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
