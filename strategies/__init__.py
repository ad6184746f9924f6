"""Pluggable operating strategies and their registry (`siyu strategies list`)."""

from strategies.base import Strategy
from strategies.registry import available, get_strategy_class, make_strategy

__all__ = ["Strategy", "available", "get_strategy_class", "make_strategy"]
