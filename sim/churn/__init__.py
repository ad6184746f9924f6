"""Churn risk: the stored churn model, its features and per-user scoring (training lives in
:mod:`sim.runs.churn_training`, because it runs the engine)."""
