"""The behaviour step's table-bounded decisions equal the exact comparisons, draw for draw.

`u < σ(x)`, `u < any_of(σ(x), n)` and `u < scale × σ(x)` are decided from the bounds of σ on a
grid cell and fall back to exp only inside a narrow band (sim/world/behaviour.py); the result
tables stay byte-identical only if every such decision is the one the exact comparison makes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.world.behaviour import (
    SIGMOID_MARGIN,
    SIGMOID_STEPS,
    SIGMOID_TABLE,
    SIGMOID_XMAX,
    _any_of,
    _below_any_of,
    _below_scaled_sigmoid,
    _below_sigmoid,
    _sigmoid,
)

GRID = np.arange(SIGMOID_TABLE.shape[0]) / SIGMOID_STEPS - SIGMOID_XMAX


@njit
def _mismatches(u, x, n, scale):
    """Number of (u, x) pairs where a fast decision differs from the exact comparison."""
    bad = 0
    for i in range(u.shape[0]):
        p = _sigmoid(x[i])
        bad += _below_sigmoid(u[i], x[i]) != (u[i] < p)
        bad += _below_any_of(u[i], x[i], n[i]) != (u[i] < _any_of(p, n[i]))
        bad += _below_scaled_sigmoid(u[i], scale[i], x[i]) != (u[i] < scale[i] * p)
    return bad


@njit
def _exact(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = _sigmoid(x[i])
    return out


def _check(u: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> None:
    n = rng.choice(np.array([0.0, 1.0, 2.0, 3.0, 7.0]), size=x.shape[0])
    scale = rng.uniform(-0.2, 1.2, size=x.shape[0])  # outside [0, 1]: the exact path
    scale[::3] = rng.uniform(0.0, 1.0, size=scale[::3].shape[0])
    assert _mismatches(u, x, n, scale) == 0


def test_table_holds_the_steps_sigmoid_within_a_thousandth_of_the_margin():
    assert np.max(np.abs(SIGMOID_TABLE - _exact(GRID))) < SIGMOID_MARGIN / 1000
    assert np.all(np.diff(SIGMOID_TABLE) >= 0.0)


def test_random_draws_decide_as_the_exact_comparison():
    rng = np.random.default_rng(16)
    x = rng.uniform(-20.0, 20.0, size=1_000_000)
    _check(rng.random(x.shape[0]), x, rng)


def test_draws_at_the_band_edges_and_x_at_grid_points_decide_exactly():
    rng = np.random.default_rng(17)
    k = rng.integers(0, GRID.shape[0] - 1, size=200_000)
    x = np.concatenate([GRID[k], np.nextafter(GRID[k], -np.inf), np.nextafter(GRID[k], np.inf)])
    k3 = np.concatenate([k, k, k])
    exact = _exact(x)
    edges = [
        SIGMOID_TABLE[k3] - SIGMOID_MARGIN,
        SIGMOID_TABLE[k3 + 1] + SIGMOID_MARGIN,
        exact,
    ]
    for edge in edges:
        for u in (edge, np.nextafter(edge, -np.inf), np.nextafter(edge, np.inf)):
            _check(np.clip(u, 0.0, 1.0), x, rng)


def test_off_grid_and_non_finite_logits_take_the_exact_path():
    rng = np.random.default_rng(18)
    x = np.array([-SIGMOID_XMAX, SIGMOID_XMAX, -1e300, 1e300, -np.inf, np.inf, np.nan] * 1000)
    x[::7] = rng.uniform(-40.0, 40.0, size=x[::7].shape[0])
    _check(rng.random(x.shape[0]), x, rng)
    _check(_exact(x), x, rng)


def test_the_band_needing_exp_is_narrow():
    """Under 1% of uniform draws fall where the table cannot decide (the speed-up's premise)."""
    width = np.diff(SIGMOID_TABLE) + 2 * SIGMOID_MARGIN
    assert width.max() < 1.0 / (4 * SIGMOID_STEPS) + 3 * SIGMOID_MARGIN
    assert width.max() < 0.01
