"""The base class of operating strategies.

A strategy is configured only by explicit keyword arguments of ``__init__`` that it stores
unchanged under the same names (scikit-learn style), so ``get_params()`` and ``clone()`` work and
each replication gets a fresh copy with no hidden state. State learned during a run goes in
attributes ending in ``_`` and is created in :meth:`start`.

Extension points (override what you need):

* :meth:`start` — called once before day 0 with the strategy's
:class:`~sim.world.actions.Operations`;
  schedule recurring or delayed work here (``ops.after``);
* :meth:`on_day` — called every day, after the day's arrivals and before behaviour;
* :meth:`validate_params` — raise ``ValueError`` for parameter values out of range
  (:func:`strategies.registry.make_strategy` calls it, so a bad config value is an error that
  names the key before anything runs).

Every strategy can be run through :func:`sim.runs.check_strategy.check_strategy`.

A strategy reads the population only through ``ops.field``/``ops.reachable`` and changes it only
through the actions of ``ops`` — never by writing arrays.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from sim.world.actions import Operations


class Strategy:
    """Base class: a named operating policy with explicit parameters."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    source: ClassVar[str] = ""  # the DOMAIN.md fact it implements, e.g. "[003] 8 promos a day"
    cost_model: ClassVar[str] = ""

    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def clone(self) -> Strategy:
        """A fresh, unstarted copy with the same parameters."""
        return type(self)(**self.get_params())

    def validate_params(self) -> None:  # noqa: B027 - optional hook
        """Raise ``ValueError`` naming the parameter if a value is out of range."""

    def start(self, ops: Operations) -> None:  # noqa: B027 - optional hook
        """Called once before day 0."""

    def on_day(self, ops: Operations) -> None:  # noqa: B027 - optional hook
        """Called every day before behaviour."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
