"""Pluggable operating strategies and their registry (`siyu strategies list`)."""

from strategies.base import Strategy
from strategies.params import Param, ParameterError, param
from strategies.registry import available, get_strategy_class, make_strategy

__all__ = [
    "Param", "ParameterError", "Strategy", "available", "get_strategy_class", "make_strategy",
    "param",
]  # fmt: skip
