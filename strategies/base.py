"""The base class of operating strategies.

A strategy declares its parameters as annotated class attributes (:func:`strategies.params.param`):
type, default, one-line meaning with units, and allowed range or choices — one declaration that
construction, config validation and ``siyu strategies show`` all read::

    class Weekly(Strategy):
        name, summary, source, cost_model = "weekly", "...", "...", "..."

        weekday: int = param(0, "day of the week of the push (0 = Monday)", low=0, high=6)

From the declarations the base class writes an ``__init__`` taking them as keywords and storing
them unchanged under the same names (scikit-learn style, so ``get_params()`` and ``clone()``
work and each replication gets a fresh copy with no hidden state). Every construction — in
Python or from a config — validates the values and raises
:class:`~strategies.params.ParameterError` (a ``ConfigError``) naming the strategy, the
parameter, what was expected and what was given; an unknown keyword gets a did-you-mean. State
learned during a run goes in attributes ending in ``_`` and is created in :meth:`start`.

Extension points (override what you need):

* :meth:`check_params` — rules between parameters that a declaration cannot state (e.g. one
  threshold above another); raise ``self.param_error(name, problem)``;
* :meth:`start` — called once before day 0 with the strategy's
  :class:`~sim.world.actions.Operations`; schedule recurring or delayed work here (``ops.after``);
* :meth:`on_day` — called every day, after the day's arrivals and before behaviour.

A third-party strategy that writes its own ``__init__`` instead of declaring parameters still
runs, with a :class:`UndeclaredParametersWarning` when its class is defined: its values are not
checked (config keys still are, by name) and ``check_strategy`` fails its ``explicit-params``
check until it declares them.

Every strategy can be run through :func:`sim.runs.check_strategy.check_strategy`.

A strategy reads the population only through ``ops.field``/``ops.reachable`` and changes it only
through the actions of ``ops`` — never by writing arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from typing import Any, ClassVar, dataclass_transform

from sim.world.actions import Operations
from strategies.params import (
    Param,
    ParameterError,
    check_names,
    check_values,
    param,
    resolve,
    undeclared,
)


class UndeclaredParametersWarning(UserWarning):
    """A strategy writes its own ``__init__`` instead of declaring its parameters."""


@dataclass_transform(kw_only_default=True, field_specifiers=(param,))
class Strategy:
    """Base class: a named operating policy with declared, validated parameters."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    source: ClassVar[str] = ""  # the DOMAIN.md fact it implements, e.g. "[003] 8 promos a day"
    cost_model: ClassVar[str] = ""
    parameters: ClassVar[tuple[Param, ...]] = ()  # filled from the declarations of each subclass

    def __init__(self) -> None:
        """The base strategy has no parameters."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ or not _writes_init(cls.__init__):
            _accept_undeclared(cls)
        else:
            _declare(cls)

    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def clone(self) -> Strategy:
        """A fresh, unstarted copy with the same parameters."""
        return type(self)(**self.get_params())

    def __post_init__(self) -> None:
        """Validate every declared parameter, then the rules between them (:meth:`check_params`)."""
        check_values(self.name or type(self).__name__, self.parameters, self.get_params())
        self.check_params()

    def check_params(self) -> None:  # noqa: B027 - optional hook
        """Rules between parameters; raise ``self.param_error(name, problem)`` if one fails."""

    def param_error(self, name: str, problem: str) -> ParameterError:
        """The error for parameter ``name``; ``problem`` reads ``must be ..., got ...``."""
        return ParameterError(self.name or type(self).__name__, [(name, problem)])

    def start(self, ops: Operations) -> None:  # noqa: B027 - optional hook
        """Called once before day 0."""

    def on_day(self, ops: Operations) -> None:  # noqa: B027 - optional hook
        """Called every day before behaviour."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _writes_init(init: Any) -> bool:
    """True if ``init`` is one the base class wrote (or the base's own): a declared strategy."""
    return init is Strategy.__init__ or getattr(init, "_declared", False)


def _declare(cls: type[Strategy]) -> None:
    """Make ``cls`` a keyword-only dataclass of its declared parameters; wrap the ``__init__``
    so an unknown keyword gets a did-you-mean instead of Python's bare ``TypeError``."""
    dataclasses.dataclass(cls, kw_only=True, eq=False, repr=False)
    cls.parameters = tuple(resolve(cls, f) for f in dataclasses.fields(cls))
    generated = cls.__init__

    @functools.wraps(generated)
    def __init__(self: Strategy, **kwargs: Any) -> None:
        check_names(self.name or type(self).__name__, self.parameters, kwargs)
        generated(self, **kwargs)

    __init__._declared = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[method-assign]


def _accept_undeclared(cls: type[Strategy]) -> None:
    """A hand-written ``__init__``: its keywords become undeclared parameters, with a warning."""
    own = [k for k, v in vars(cls).items() if isinstance(v, dataclasses.Field)]
    if own:
        raise TypeError(
            f"{cls.__name__} declares parameters {own} and also writes __init__; "
            "remove __init__ (Strategy writes it from the declarations)"
        )
    sig = inspect.signature(cls.__init__)
    found = [p for p in sig.parameters.values() if p.name != "self"]
    cls.parameters = tuple(undeclared(p.name, p.default) for p in found)
    if found and "__init__" in cls.__dict__:
        warnings.warn(
            f"strategy {cls.__name__} writes its own __init__ instead of declaring its parameters "
            "with param(); their values are not checked (see strategies/base.py)",
            UndeclaredParametersWarning,
            stacklevel=3,
        )
