"""The declaration of a behavioural law and of its measured outcome.

A :class:`Law` names what it states (``key``, ``title``), the tolerance the measured value must
fall in (:class:`Band`), its unit, where the law and its band come from (``source``), the
behavioural reason it is a law (``why``), the simulations it needs (``needs``: a function of the
:class:`~sim.laws.plan.Plan`) and how it is measured (``measure``: a pure function of the
finished runs' metrics). A measurement that lacks data raises
:class:`~sim.analysis.law_measures.MissingData`; the law is then *not measurable* and counts as
violated, never given a made-up value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.laws.plan import Job, Plan, Results


@dataclass(frozen=True)
class Band:
    """The values a law allows: ``lo`` … ``hi``, each end closed unless marked open."""

    lo: float = -math.inf
    hi: float = math.inf
    text: str = ""
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` is inside the band (NaN never is)."""
        if x is None or math.isnan(x):
            return False
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return bool(above and below)


@dataclass(frozen=True)
class Measured:
    """What a law's measurement found: the value, how to show it, and one line of detail."""

    value: float
    shown: str
    detail: str = ""


@dataclass(frozen=True)
class Law:
    """One measurable law; ``band`` None means the figure is reported, not asserted."""

    key: str
    title: str
    band: Band | None
    unit: str
    source: str
    why: str
    needs: Callable[[Plan], Sequence[Job]]
    measure: Callable[[Results, Plan], Measured]


@dataclass(frozen=True)
class Outcome:
    """A law evaluated: ``status`` is ``holds``, ``violated``, ``not measurable`` or
    ``reported`` (no band); only ``holds`` and ``reported`` pass."""

    law: Law
    value: float
    shown: str
    status: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in ("holds", "reported")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record (NaN and infinities become None)."""
        value = self.value if math.isfinite(self.value) else None
        band = self.law.band
        return {
            "key": self.law.key,
            "title": self.law.title,
            "value": value,
            "shown": self.shown,
            "unit": self.law.unit,
            "band": band.text if band else None,
            "band_lo": band.lo if band and math.isfinite(band.lo) else None,
            "band_hi": band.hi if band and math.isfinite(band.hi) else None,
            "status": self.status,
            "passed": self.passed,
            "detail": self.detail,
            "source": self.law.source,
        }


# --------------------------------------------------------------------------- formatting


def pct(x: float, digits: int = 1) -> str:
    """``0.123`` → ``12.3%``; signed with ``signed=True`` via :func:`signed_pct`."""
    return f"{x:.{digits}%}" if math.isfinite(x) else "n/a"


def signed_pct(x: float, digits: int = 1) -> str:
    """``0.123`` → ``+12.3%``."""
    return f"{x:+.{digits}%}" if math.isfinite(x) else "n/a"


def points(x: float) -> str:
    """A difference of shares in percentage points: ``0.031`` → ``+3.1 pp``; below one point
    two significant digits, so a small step keeps its sign: ``0.00021`` → ``+0.021 pp``."""
    if not math.isfinite(x):
        return "n/a"
    pp = 100 * x
    return f"{pp:+.1f} pp" if abs(pp) >= 1 or pp == 0 else f"{pp:+.2g} pp"


def times(x: float) -> str:
    """A ratio: ``1.5`` → ``1.50×``."""
    return f"{x:.2f}×" if math.isfinite(x) else "n/a"


def yuan(x: float) -> str:
    """Money: ``-0.5`` → ``-¥0.50``."""
    if not math.isfinite(x):
        return "n/a"
    return f"-¥{-x:,.2f}" if x < 0 else f"¥{x:,.2f}"


def number(x: float) -> str:
    """A setting or a count without trailing zeros: ``7.0`` → ``7``, ``0.25`` → ``0.25``."""
    return f"{x:g}" if math.isfinite(x) else "n/a"


def argmax_setting(settings: Sequence[float], values: Sequence[float]) -> float:
    """The setting with the largest value (the first on ties)."""
    best = max(range(len(values)), key=lambda i: (values[i], -i))
    return float(settings[best])


def interior(settings: Sequence[float], unit: str) -> Band:
    """The band of an interior peak: any setting but the first and the last."""
    lo, hi = settings[1], settings[-2]
    return Band(lo, hi, f"interior {number(lo)}–{number(hi)}{unit}")
