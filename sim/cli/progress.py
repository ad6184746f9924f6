"""A spinner with the elapsed time for a long step of a command (the analysis after an
experiment, a twin fit, backtest, forecast or sample log), on stderr so that the printed
results stay clean; ``--quiet`` turns it off. It disappears when the step ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def working(what: str, quiet: bool = False) -> Iterator[None]:
    """Show ``what`` with a spinner and the seconds elapsed while the block runs."""
    columns = (SpinnerColumn(), TextColumn(what), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=quiet) as bar:
        bar.add_task(what, total=None)
        yield
