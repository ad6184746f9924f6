"""The ``siyu`` command line: argument parsing and printing only; the work is done by the
documented functions below this layer (``sim.run``, ``sim.run_experiment``, ...)."""
