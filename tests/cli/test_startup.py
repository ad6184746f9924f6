"""Start-up cost: ``siyu --help`` and ``siyu validate`` load no heavy numerical library (they
answered in ~4 s when every command imported numba, pandas and scipy; docs/PERFORMANCE.md has
the measured times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numba", "pandas", "scipy", "pyarrow", "statsmodels", "sklearn", "matplotlib")
PROBE = """
import json, sys
from sim.cli.main import main
status = main(sys.argv[1:])
print(json.dumps([m for m in {heavy} if m in sys.modules]))
sys.exit(status)
"""


def _loaded_by(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_validate_loads_no_heavy_library_for_a_run_or_a_sweep():
    assert _loaded_by("validate", "experiments/quickstart.yaml") == []
    assert _loaded_by("validate", "experiments/recall_coupon_sweep.yaml") == []


def test_the_error_boundary_loads_no_heavy_library():
    """A wrong config is reported by the boundary (sim.cli.failures) without loading them."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "validate", "no/such/file.yaml"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "no/such/file.yaml" in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_run_command_loads_no_analysis_or_plotting_library_before_it_needs_one():
    """``siyu run`` of one config fits no model and draws only after its tables are written:
    its handler's imports leave statistics, fitting, learning and plotting libraries unloaded
    (~110 MB and ~1 s of start-up otherwise; docs/PERFORMANCE.md, memory). The twin's fitting
    modules are imported (a config may build a twin) but load scipy.optimize on first use."""
    unneeded = ("statsmodels", "sklearn", "scipy.stats", "scipy.optimize", "matplotlib",
                "lifelines")  # fmt: skip
    probe = (
        "import json, sys, sim.cli.commands\n"
        f"print(json.dumps([m for m in {unneeded} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


EXIT_PROBE = """
import atexit, sys
from sim.cli.main import console_main
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
sys.argv = ["siyu", *sys.argv[1:]]
console_main()
"""


def test_the_command_ends_without_python_shutdown_but_keeps_output_status_and_handlers():
    """``console_main`` skips the interpreter's module teardown (~0.5 s after a large run): the
    whole output still arrives through a pipe, the exit status is the command's, and atexit
    handlers (multiprocessing, dask, logging, temporary folders) still run."""
    listed = subprocess.run([sys.executable, "-c", EXIT_PROBE, "strategies", "list"], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert listed.returncode == 0
    assert "blanket" in listed.stdout and listed.stdout.rstrip().endswith("to [004] is)")
    assert "exit handler ran" in listed.stderr
    refused = subprocess.run([sys.executable, "-c", EXIT_PROBE, "validate", "no/such/file.yaml"],
                             cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 2
    assert "no/such/file.yaml" in refused.stderr and "exit handler ran" in refused.stderr
