"""The parallel daily step: the same tables for any number of threads and any chunking, and the
thread count chosen by ``--threads`` / ``SIYU_THREADS``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli.parsers import build_parser
from sim.errors import ConfigError
from sim.world import behaviour
from sim.world.threads import ENV, available_threads, resolve_threads


@pytest.mark.parametrize("threads", ["1", "2"])
def test_tables_identical_for_many_chunks_and_threads(runs, run_world, make_busy, monkeypatch,
                                                      threads):  # fmt: skip
    """Chunks of one block each (tens of chunks) on 1 or 2 threads give the tables of the
    reference run (one chunk), to the last bit."""
    config, reference = runs["busy"]
    monkeypatch.setattr(behaviour, "chunk_starts", one_block_each)
    monkeypatch.setenv(ENV, threads)
    assert len(one_block_each(config.population.initial_users, 2)) > 8
    tables = run_world(config, [make_busy()])
    assert tables.keys() == reference.keys()
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], reference[name], check_exact=True, obj=name)


def one_block_each(n: int, threads: int) -> np.ndarray:
    """A chunking of users [0, n) into one-block chunks (any thread count)."""
    return np.append(np.arange(0, max(n, 1), behaviour.BLOCK, dtype=np.int64), np.int64(n))


@pytest.mark.parametrize("n, threads", [(0, 1), (100, 2), (1_000_000, 2), (1_000_003, 8)])
def test_chunks_are_whole_blocks_covering_every_user(n, threads):
    starts = behaviour.chunk_starts(n, threads)
    assert starts[0] == 0 and starts[-1] == n
    assert np.all(np.diff(starts) >= 0)
    assert np.all(starts[:-1] % behaviour.BLOCK == 0)


def test_one_thread_steps_one_chunk():
    """One thread: the one chunk sums every user as it steps them (no serial pass after)."""
    assert list(behaviour.chunk_starts(1_000_003, 1)) == [0, 1_000_003]


def test_threads_default_to_every_core(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert resolve_threads() == available_threads()


def test_threads_from_the_environment_capped_at_the_cores(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    assert resolve_threads() == 1
    monkeypatch.setenv(ENV, "100000")
    assert resolve_threads() == available_threads()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ConfigError, match=ENV):
        resolve_threads()


def test_threads_flag_on_the_simulating_commands():
    parser = build_parser()
    assert parser.parse_args(["run", "x.yaml", "--threads", "2"]).threads == 2
    assert parser.parse_args(["laws", "x.yaml", "--threads", "1"]).threads == 1
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "x.yaml", "--threads", "0"])
