"""The behavioural laws of the world (issues 11 and 15, docs/LAWS.md), measured on any config's
world.

:mod:`sim.laws.law` declares a law; one module per group states and measures them
(:mod:`~sim.laws.saturation`, :mod:`~sim.laws.engagement`, :mod:`~sim.laws.money`,
:mod:`~sim.laws.groups`, :mod:`~sim.laws.rewards`, :mod:`~sim.laws.disengagement`,
:mod:`~sim.laws.effects`, :mod:`~sim.laws.facts`, :mod:`~sim.laws.social`,
:mod:`~sim.laws.timing`); :mod:`~sim.laws.plan` describes the runs they need,
:mod:`~sim.laws.execute` runs them and :mod:`~sim.laws.runner` replays the catalogue.
``siyu laws CONFIG`` (:mod:`sim.cli.laws`) prints the table.
"""
