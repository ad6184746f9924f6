"""``siyu lab``: start the policy lab (:mod:`sim.lab`) and print its address. Flags are in
:mod:`sim.cli.parsers`; the web stack is imported only when this command runs."""

from __future__ import annotations

import argparse

from sim.errors import ConfigError
from sim.lab.server import serve


def run(args: argparse.Namespace) -> int:
    """Serve the lab until interrupted; the root folder must exist."""
    if not args.root.is_dir():
        raise ConfigError(f"--root {args.root}: not a folder; create it or choose another")
    serve(args.root, args.host, args.port, args.token, args.workers)
    return 0
