"""``none``: no operations at all — the world left to itself."""

from __future__ import annotations

from strategies.base import Strategy


class NoOperations(Strategy):
    """Does nothing. The reference against which every strategy's effect is read."""

    name = "none"
    summary = "no operations: no messages, offers or contacts"
    source = "reference policy"
    cost_model = "nothing is spent"
