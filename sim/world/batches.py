"""Compiled loops over a batch of user slots: the per-user work of the action vocabulary.

An action on a million users touches each of them a few times (who is reachable, what the
contact caps allow, the inbox, the costs). Written as numpy fancy indexing each step reads and
writes whole temporaries (``col[users] += x`` gathers, adds and scatters); these loops do it in
one pass each, on the sorted, distinct slots that :class:`~sim.world.actions.Operations` works
on. They compute exactly what the numpy expressions they replace computed, bit for bit (the
same casts, the same operations in the same precision).

numba is imported on a kernel's first call, not with this module: validating a config imports
the action vocabulary, and must not load numba (``tests/cli/test_startup.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

IN_ORDER, UNSORTED, OUT_OF_RANGE = 0, 1, 2  # what reachable_among found about a batch
EVERYONE = -1  # audience code: no experiment split
NO_CAP = -1  # a contact-pressure cap of None


def _compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled with numba (and cached on disk) the first time it is called."""
    kernel: Callable[..., Any] | None = None

    def call(*args: Any) -> Any:
        nonlocal kernel
        if kernel is None:
            from numba import njit  # heavy: loaded on first use (see the module docstring)

            kernel = njit(cache=True)(fn)
        return kernel(*args)

    call.__name__, call.__qualname__, call.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return call


@_compiled
def reachable_among(
    users: np.ndarray, churn_day: np.ndarray, assigned: np.ndarray, audience: int
) -> tuple[np.ndarray, int]:
    """(the users not churned and in ``audience``, status): ``users`` kept in order when they
    are strictly increasing slots below ``churn_day``'s length; the status says IN_ORDER, or
    UNSORTED / OUT_OF_RANGE (then the slots are not valid; sort or refuse them first)."""
    n = churn_day.shape[0]
    kept = np.empty(users.shape[0], np.int64)
    k = 0
    previous = -1
    for i in range(users.shape[0]):
        u = users[i]
        if u < 0 or u >= n:
            return kept[:0], OUT_OF_RANGE
        if u <= previous:
            return kept[:0], UNSORTED
        previous = u
        if churn_day[u] < 0 and (audience < 0 or assigned[u] == (audience == 1)):
            kept[k] = u
            k += 1
    return kept[:k], IN_ORDER


@_compiled
def _reachable_slots(
    churn_day: np.ndarray, assigned: np.ndarray, audience: int, out: np.ndarray
) -> int:
    k = 0
    if audience < 0:
        for u in range(churn_day.shape[0]):
            out[k] = u  # written at every step, kept by advancing the count: no branch
            k += churn_day[u] < 0
    else:
        for u in range(churn_day.shape[0]):
            out[k] = u
            k += (churn_day[u] < 0) & (assigned[u] == (audience == 1))
    return k


def reachable_slots(
    churn_day: np.ndarray, assigned: np.ndarray, audience: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The slots not churned and in ``audience``, in order: ``np.flatnonzero(churn_day < 0)``
    (and ``assigned == audience``) in one pass, without the mask; a view of ``out`` (at
    least ``churn_day``'s length; default: a new array)."""
    if out is None:
        out = np.empty(churn_day.shape[0], np.int64)
    return out[: _reachable_slots(churn_day, assigned, audience, out)]


class Recycled:
    """int64 buffers for arrays handed out every day (the reachable users): a buffer is taken
    again once nothing but this pool refers to it (the array handed out and every view of it
    are gone). A fresh array of megabytes costs a page fault per 4 KiB the first time it is
    written, ~2 ms a day for a million users' slots, more than filling it."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._buffers: list[np.ndarray] = []
        # the reference count of a buffer only the pool holds, read the way take() reads it
        # (what getrefcount counts differs between Python versions)
        probe = [np.empty(0, np.int64)]
        self._alone = sys.getrefcount(probe[0])

    def take(self, n: int, size: int = 0) -> np.ndarray:
        """A buffer of at least ``n`` slots that nobody else holds (contents undefined); a new
        one has ``size`` slots if that is more (room for the users still to come)."""
        for i in range(len(self._buffers)):
            # an array handed out (or any view of it) adds a reference to its buffer
            if self._buffers[i].shape[0] >= n and sys.getrefcount(self._buffers[i]) <= self._alone:
                return self._buffers[i]
        self._buffers = [b for b in self._buffers if b.shape[0] >= n][-(self.keep - 1) :]
        self._buffers.append(np.empty(max(n, size), np.int64))
        return self._buffers[-1]


@_compiled
def _add_each(col: np.ndarray, users: np.ndarray, value: Any) -> None:
    for i in range(users.shape[0]):
        col[users[i]] += value


@_compiled
def _add_each_to_both(
    a: np.ndarray, b: np.ndarray, users: np.ndarray, value_a: Any, value_b: Any
) -> None:
    for i in range(users.shape[0]):
        u = users[i]
        a[u] += value_a
        b[u] += value_b


@_compiled
def _set_each(col: np.ndarray, users: np.ndarray, value: Any) -> None:
    for i in range(users.shape[0]):
        col[users[i]] = value


@_compiled
def _saturating_add(col: np.ndarray, users: np.ndarray, k: int) -> None:
    for i in range(users.shape[0]):
        u = users[i]
        total = col[u] + k
        col[u] = 255 if total > 255 else total


def add_each(col: np.ndarray, users: np.ndarray, value: float) -> None:
    """``col[users] += value`` for distinct ``users``, in numpy's arithmetic: a Python number
    is cast to the column's dtype, a numpy one may widen the sum (then rounded back)."""
    _add_each(col, users, _cast(col, value))


def _cast(col: np.ndarray, value: float) -> Any:
    """``value`` as numpy adds it to ``col``: a Python number in the column's dtype, a numpy
    number in the wider of the two."""
    return np.result_type(col, value).type(value)


def add_each_to_both(a: np.ndarray, b: np.ndarray, users: np.ndarray, value: float) -> None:
    """:func:`add_each` on two columns in one pass (a user's cost and its strategy's share)."""
    _add_each_to_both(a, b, users, _cast(a, value), _cast(b, value))


@_compiled
def _deliver_and_add(
    inbox: np.ndarray, units: int, cost: np.ndarray, account: np.ndarray, users: np.ndarray,
    cost_each: Any, account_each: Any,
) -> None:  # fmt: skip
    for i in range(users.shape[0]):
        u = users[i]
        total = inbox[u] + units
        inbox[u] = 255 if total > 255 else total
        cost[u] += cost_each
        account[u] += account_each


def deliver_and_charge(
    users: np.ndarray, inbox: np.ndarray | None, units: int, cost: np.ndarray,
    account: np.ndarray | None, price: float,
) -> None:  # fmt: skip
    """For each of the distinct ``users``: :func:`saturating_add` ``units`` to its ``inbox``
    (None: nothing delivered) and :func:`add_each_to_both` ``price`` to its ``cost`` and its
    ``account`` with a strategy (None: nothing charged), in one pass."""
    if inbox is None:
        if account is not None:
            add_each_to_both(cost, account, users, price)
    elif account is None:
        saturating_add(inbox, users, units)
    else:
        _deliver_and_add(
            inbox, int(units), cost, account, users, _cast(cost, price), _cast(account, price)
        )


def set_each(col: np.ndarray, users: np.ndarray, value: float) -> None:
    """``col[users] = value``."""
    _set_each(col, users, col.dtype.type(value))


def saturating_add(col: np.ndarray, users: np.ndarray, k: int) -> None:
    """Add ``k`` to a uint8 counter of each of the distinct ``users``, stopping at 255."""
    _saturating_add(col, users, int(k))


@_compiled
def add_from_table(
    col: np.ndarray, users: np.ndarray, table: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> None:
    """``col[users] += table[rows[users], cols[users]]`` for distinct ``users`` (a value per
    pair of small codes, e.g. a message's relevance by stage and preference)."""
    for i in range(users.shape[0]):
        u = users[i]
        col[u] += table[rows[u], cols[u]]


@_compiled
def under_caps(
    counts: np.ndarray, today: int, users: np.ndarray, units: int, day_cap: int, week_cap: int
) -> np.ndarray:
    """The ``users`` whose counts (``counts[day, user]``, the week's rows) can take ``units``
    more items: today's row within ``day_cap`` and the week's sum within ``week_cap``
    (NO_CAP: none)."""
    kept = np.empty(users.shape[0], np.int64)
    k = 0
    for i in range(users.shape[0]):
        u = users[i]
        ok = day_cap < 0 or counts[today, u] + units <= day_cap
        if ok and week_cap >= 0:
            week = 0
            for d in range(counts.shape[0]):
                week += counts[d, u]
            ok = week + units <= week_cap
        if ok:
            kept[k] = u
            k += 1
    return kept[:k]
