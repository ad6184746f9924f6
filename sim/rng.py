"""Keyed, counter-based random numbers.

Every random draw in the simulator has an *address* — (seed, purpose, day, user) — and its value
is a pure function of that address: a SplitMix64-style hash of the user's 64-bit uid mixed with a
per-(seed, purpose, day) key. Nothing depends on call order, chunking, worker count, which other
users exist or which policy is running, so two arms of an experiment see the same luck for the
same user (common random numbers). No global RNG state is touched anywhere.

Python code that needs a whole column uses :func:`uniforms` (vectorised numpy; a column of
:data:`COMPILED_FROM` draws or more runs a compiled loop, loading numba then and not on import,
so configs validate quickly); the simulation's compiled kernels
(:mod:`sim.world.behaviour`) inline their own copy of :func:`mix64` with the same constants.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


class Purpose(IntEnum):
    """What a draw is for. Values are part of the address: never renumber, only append."""

    ARRIVALS = 1
    INITIAL_UID = 2
    ATTR_AGE = 3
    ATTR_OCCUPATION = 4
    ATTR_CITY = 5
    ATTR_INCOME = 6
    ATTR_PREFERENCE = 7
    ATTR_ENGAGEMENT = 8
    ATTR_CHANNEL = 9
    ATTR_TENURE = 10
    ATTR_HISTORY = 11
    ATTR_SILENCE = 12
    GROUP_JOIN = 13
    ATTR_NEED = 14
    ATTR_FRAILTY = 15
    ATTR_INTENT = 16
    OPEN = 20
    ACTIVE = 21
    STUDY = 22
    SPEAK = 23
    SHARE = 24
    REFERRALS = 25
    PURCHASE = 26
    CHURN = 27
    FATIGUE_EXIT = 28
    HOLDOUT = 40
    ASSIGNMENT = 41
    SWEEP = 42
    REPLICATION = 43
    MODEL = 44
    TWIN = 45
    LIVE_STREAM = 50
    # group composition (issue 15); numbered apart from other additions
    ATTR_DISRUPTIVE = 60
    PRUNE_SIGNAL = 61
    PRUNE_RANDOM = 62


MIX_MULTIPLIERS = (_M1, _M2)
"""SplitMix64's multipliers, for a compiled copy of :func:`mix64` in a numba kernel."""


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, element-wise: a bijective avalanche mix of 64-bit words (uint64
    arithmetic wraps modulo 2**64, as in C)."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _mix_py(x: int) -> int:
    """Pure-Python SplitMix64 finaliser on ints (for building keys)."""
    mask = (1 << 64) - 1
    x &= mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def draw_key(seed: int, purpose: int, day: int = 0) -> np.uint64:
    """The 64-bit key of all draws for one (seed, purpose, day)."""
    k = _mix_py(seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)
    k = _mix_py(k ^ (int(purpose) * 0xD1B54A32D192ED03))
    k = _mix_py(k ^ ((day + (1 << 32)) * 0xA24BAED4963EE407))
    return np.uint64(k)


# From this many values on, uniforms and hash_ids run a compiled loop (the same integer
# arithmetic, one pass, no temporaries: ~5x faster on the initial base's million users); for
# fewer, numpy's expression, which needs no compiler.
COMPILED_FROM = 1 << 16


def uniforms(seed: int, purpose: int, day: int, uids: np.ndarray) -> np.ndarray:
    """One uniform in [0, 1) per uid at the address (seed, purpose, day, uid)."""
    uids = np.ascontiguousarray(uids, dtype=np.uint64).reshape(-1)
    key = draw_key(seed, purpose, day)
    if uids.shape[0] >= COMPILED_FROM:
        return _kernels()[0](uids, key)
    return (mix64(uids ^ key) >> _S11).astype(np.float64) * _TO_UNIT


def derive_uids(seed: int, purpose: int, day: int, count: int, salt: int = 0) -> np.ndarray:
    """Deterministic 64-bit user ids for ``count`` users born at (seed, purpose, day, salt).

    The top bit is cleared so ids fit a signed int64 column.
    """
    counters = np.arange(count, dtype=np.uint64) + np.uint64((salt & 0xFFFFFFFF) << 32)
    return hash_ids(draw_key(seed, purpose, day), counters)


def hash_ids(key: np.uint64, values: np.ndarray) -> np.ndarray:
    """Hash 64-bit values under ``key`` into non-negative 63-bit ids."""
    values = np.ascontiguousarray(values, dtype=np.uint64).reshape(-1)
    if values.shape[0] >= COMPILED_FROM:
        return _kernels()[1](values, np.uint64(key))
    return mix64(mix64(values * _GOLDEN + np.uint64(key))) & _LOW63


_LOW63 = np.uint64(0x7FFFFFFFFFFFFFFF)
_KERNELS: list = []


def _uniforms_loop(uids: np.ndarray, key: np.uint64) -> np.ndarray:
    """:func:`uniforms`' expression, one value at a time (uint64 arithmetic wraps the same)."""
    out = np.empty(uids.shape[0], np.float64)
    for i in range(uids.shape[0]):
        x = uids[i] ^ key
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        x = x ^ (x >> _S31)
        out[i] = float(x >> _S11) * _TO_UNIT  # a 53-bit integer: converted exactly
    return out


def _hash_ids_loop(values: np.ndarray, key: np.uint64) -> np.ndarray:
    """:func:`hash_ids`' expression, one value at a time."""
    out = np.empty(values.shape[0], np.uint64)
    for i in range(values.shape[0]):
        x = values[i] * _GOLDEN + key
        for _ in range(2):
            x = (x ^ (x >> _S30)) * _M1
            x = (x ^ (x >> _S27)) * _M2
            x = x ^ (x >> _S31)
        out[i] = x & _LOW63
    return out


def _kernels() -> list:
    """The compiled loops (numba is loaded here, on the first large draw: a config validates
    without it)."""
    if not _KERNELS:
        from numba import njit  # heavy third-party import, deferred (see above)

        _KERNELS.extend(njit(cache=True)(f) for f in (_uniforms_loop, _hash_ids_loop))
    return _KERNELS


def generator(seed: int, purpose: int, day: int = 0) -> np.random.Generator:
    """A numpy Generator (Philox) keyed by (seed, purpose, day), for aggregate draws such as
    the number of arrivals on a day. Never shared, never global."""
    return np.random.Generator(np.random.Philox(key=int(draw_key(seed, purpose, day))))
