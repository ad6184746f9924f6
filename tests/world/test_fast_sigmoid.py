"""The behaviour step's table-bounded decisions equal the exact comparisons, draw for draw.

`u < σ(x)`, `u < any_of(σ(x), n)` and `u < scale × σ(x)` are decided from the bounds of σ on a
grid cell and fall back to exp only inside a narrow band (sim/world/behaviour.py); the first
two are decided before that from the bounds in x of the draw's own cell. The result tables
stay byte-identical only if every such decision is the one the exact comparison makes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.world.behaviour import (
    _X_BOUNDS,
    SIGMOID_MARGIN,
    SIGMOID_STEPS,
    SIGMOID_TABLE,
    SIGMOID_XMAX,
    U_CELLS,
    _any_of,
    _below_any_of,
    _below_any_of_at,
    _below_scaled_sigmoid,
    _below_sigmoid,
    _below_sigmoid_at,
    _sigmoid,
    _u1_cell,
    _u2_cells,
)

GRID = np.arange(SIGMOID_TABLE.shape[0]) / SIGMOID_STEPS - SIGMOID_XMAX
LAST_DRAW = np.nextafter(1.0, 0.0)  # the largest uniform a draw can be


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


def _message_counts(rng: np.random.Generator, size: int) -> np.ndarray:
    """A count of messages received per draw (any_of counts at most 3: 7 acts as 3)."""
    return rng.choice(np.array([0.0, 1.0, 2.0, 3.0, 7.0]), size=size)


def _check(u: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> None:
    n = _message_counts(rng, x.shape[0])
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


@njit
def _cell_mismatches(u, x, n):
    """Pairs where a decision from the draw's cell differs from the exact comparison."""
    bad = 0
    for i in range(u.shape[0]):
        cell = np.uint64(u[i] * U_CELLS)  # the draws' cells are their top bits (tested below)
        p = _sigmoid(x[i])
        bad += _below_sigmoid_at(u[i], cell, x[i]) != (u[i] < p)
        bad += _below_any_of_at(u[i], cell, x[i], n[i]) != (u[i] < _any_of(p, n[i]))
    return bad


@njit
def _cells_of_draws(keys, uids):
    """Draws whose cell is not the cell [c, c + 1) / U_CELLS holding the uniform."""
    bad = 0
    for i in range(keys.shape[0]):
        u, c = _u1_cell(keys[i], uids[i])
        u_hi, c_hi, u_lo, c_lo = _u2_cells(keys[i], uids[i])
        for v, cv in ((u, c), (u_hi, c_hi), (u_lo, c_lo)):
            bad += not (cv / U_CELLS <= v < (cv + 1) / U_CELLS)
    return bad


def _check_cells(u: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> None:
    assert _cell_mismatches(u, x, _message_counts(rng, x.shape[0])) == 0


def test_each_draw_lies_in_the_cell_the_step_looks_up():
    rng = np.random.default_rng(19)
    keys = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    uids = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    assert _cells_of_draws(keys, uids) == 0


def test_decisions_from_the_draws_cell_are_the_exact_comparisons():
    rng = np.random.default_rng(20)
    x = rng.uniform(-20.0, 20.0, size=1_000_000)
    _check_cells(rng.random(x.shape[0]), x, rng)


def test_draws_at_cell_edges_and_logits_at_the_cells_x_bounds_decide_exactly():
    rng = np.random.default_rng(21)
    cells = rng.integers(0, U_CELLS, size=100_000)
    rows = rng.integers(0, _X_BOUNDS.shape[0], size=cells.shape[0])
    for side in (0, 1):
        bound = _X_BOUNDS[rows, cells, side]
        for x in (bound, np.nextafter(bound, -np.inf), np.nextafter(bound, np.inf)):
            low = cells / U_CELLS  # the cell's first draw, its last, and one inside
            for u in (
                low,
                np.nextafter((cells + 1) / U_CELLS, 0.0),
                low + rng.random(low.shape[0]) / U_CELLS,
            ):
                _check_cells(np.minimum(u, LAST_DRAW), x, rng)
        x = np.clip(bound, -50.0, 50.0)
        _check_cells(np.minimum(_exact(x), LAST_DRAW), x, rng)  # u = σ(x) (a draw is < 1)


def test_non_finite_logits_decide_from_the_cell_as_exactly():
    rng = np.random.default_rng(22)
    x = np.array([-1e300, 1e300, -np.inf, np.inf, np.nan] * 2000)
    _check_cells(rng.random(x.shape[0]), x, rng)
