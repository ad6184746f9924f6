"""The policy lab (``siyu lab``): a local web page where a strategist sets up a counterfactual
experiment — a world, a control and up to three policies — runs it and reads a verdict.

The logic lives in plain modules that import no web framework and are tested directly:
:mod:`~sim.lab.i18n` (every label and sentence in English and Chinese), :mod:`~sim.lab.paths`
(file choices confined to the lab root), :mod:`~sim.lab.worlds` (worlds and their laws status),
:mod:`~sim.lab.policies` (strategy forms, the rules check, the experiment YAML),
:mod:`~sim.lab.verdict` (the decision, its rule, curves with bands), :mod:`~sim.lab.jobs` (runs
through :mod:`sim.experiment.executor`) and :mod:`~sim.lab.history`. The NiceGUI page is
:mod:`~sim.lab.app`; :mod:`~sim.lab.server` binds it (loopback by default, a token otherwise).
See docs/LAB.md.
"""
